from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

register = template.Library()

#: ISO 639-2/B codes (as ONIX sends them) of the languages a French bookshop meets most.
LANGUAGES = {
    "fre": _("français"),
    "fra": _("français"),
    "eng": _("anglais"),
    "ger": _("allemand"),
    "deu": _("allemand"),
    "spa": _("espagnol"),
    "ita": _("italien"),
    "por": _("portugais"),
    "dut": _("néerlandais"),
    "oci": _("occitan"),
    "baq": _("basque"),
    "eus": _("basque"),
    "bre": _("breton"),
    "cat": _("catalan"),
    "cos": _("corse"),
    "ara": _("arabe"),
    "chi": _("chinois"),
    "jpn": _("japonais"),
    "rus": _("russe"),
    "lat": _("latin"),
    "gre": _("grec moderne"),
    "grc": _("grec ancien"),
    "heb": _("hébreu"),
    "pol": _("polonais"),
    "tur": _("turc"),
    "mul": _("plusieurs langues"),
}


@register.filter
def language_name(code):
    """A language's name from its ISO 639-2 code; the code itself when unknown."""
    return LANGUAGES.get((code or "").lower(), code)


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """The current search URL with another page number."""
    params = context["request"].GET.copy()
    params["page"] = number
    return "?" + params.urlencode()


@register.filter
def euros(amount):
    """A price as the reader's language writes it: "8,30 €" in French, "€8.30" in English."""
    if amount is None:
        return "—"
    return gettext("%(amount)s €") % {"amount": floatformat(amount, 2)}
