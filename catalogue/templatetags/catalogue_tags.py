from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from ..isbn import hyphenate_isbn

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
    # A no-break space keeps the amount and its currency on one line.
    return gettext("%(amount)s €") % {"amount": floatformat(amount, 2)}


#: ISO 639-2 codes (as ONIX sends them) → the BCP 47 tags of ``lang`` attributes.
LANG_TAGS = {
    "fre": "fr",
    "fra": "fr",
    "eng": "en",
    "ger": "de",
    "deu": "de",
    "spa": "es",
    "ita": "it",
    "por": "pt",
    "dut": "nl",
    "oci": "oc",
    "baq": "eu",
    "eus": "eu",
    "bre": "br",
    "cat": "ca",
    "cos": "co",
    "ara": "ar",
    "chi": "zh",
    "jpn": "ja",
    "rus": "ru",
    "lat": "la",
    "gre": "el",
    "grc": "grc",
    "heb": "he",
    "pol": "pl",
    "tur": "tr",
}


@register.simple_tag(takes_context=True)
def lang_attr(context, code):
    """` lang="en"` when a book's language is known and differs from the page's; nothing otherwise."""
    tag = LANG_TAGS.get((code or "").lower())
    page = (context.get("LANGUAGE_CODE") or get_language() or "fr")[:2]
    if not tag or tag == page:
        return ""
    return format_html(' lang="{}"', tag)


#: Colour families of the generated covers (``.cover-hue-N`` in the stylesheet).
COVER_HUES = 8


@register.filter
def cover_hue(isbn: str) -> int:
    """The same colour for a book on every page: chosen from its ISBN."""
    digits = "".join(ch for ch in str(isbn or "") if ch.isdigit())
    return int(digits[-5:-1] or 0) % COVER_HUES


@register.filter
def isbn_hyphens(isbn: str) -> str:
    """An ISBN-13 with its standard hyphens: « 978-2-07-036002-4 »."""
    return hyphenate_isbn(str(isbn or ""))
