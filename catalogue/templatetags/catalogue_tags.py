import html
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from bookshops.templatetags.bookshops_tags import km

from ..isbn import hyphenate_isbn
from ..models import Book

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
    # floatformat's rounding and decimal mark, without its generality: a result list shows 20 prices.
    cents = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    # A no-break space keeps the amount and its currency on one line.
    return gettext("%(amount)s €") % {"amount": str(cents).replace(".", get_format("DECIMAL_SEPARATOR"))}


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


# --- Covers and result lists, built in Python --------------------------------
# A result page shows 20 books; rendered node by node through templates, their
# rows cost more than the search itself. These functions write the same markup
# with plain string formatting: every value from the database goes through
# ``esc`` (what autoescaping does), translations are trusted as ``{% translate %}``
# trusts them.


def esc(value) -> str:
    """``value`` escaped for HTML text or a quoted attribute, as template autoescaping does."""
    return value if isinstance(value, SafeData) else html.escape(str(value))


def _lang(code, page: str) -> str:
    tag = LANG_TAGS.get((code or "").lower())
    return f' lang="{tag}"' if tag and tag != page else ""


def _page_language(context) -> str:
    return (context.get("LANGUAGE_CODE") or get_language() or "fr")[:2]


def _blocktranslated(message: str, **values) -> str:
    """``message % values`` with the values escaped, as ``{% blocktranslate %}`` writes it."""
    return message % {key: esc(value) for key, value in values.items()}


def cover_html(book, *, page: str, size: str = "small", decorative: bool = False) -> str:
    """A book's cover: the publisher's image, else a cover composed from its title and author.

    ``decorative``: the title is written beside it, so assistive technologies skip the cover.
    """
    if book.cover_url:
        alt = "" if decorative else _blocktranslated(gettext("Couverture de « %(title)s »"), title=book.title)
        width, height = ("200", "300") if size == "large" else ("72", "108")
        return (
            f'<img class="cover cover-{size}" src="{esc(book.cover_url)}" alt="{alt}" loading="lazy" '
            f'decoding="async" width="{width}" height="{height}">'
        )
    if decorative:
        role = 'aria-hidden="true"'
    else:
        label = gettext("Pas d'image de couverture pour « %(title)s » : vignette composée avec le titre et l'auteur")
        role = f'role="img" aria-label="{_blocktranslated(label, title=book.title)}"'
    authors = book.authors
    byline = authors[0].name if authors else book.publisher
    return (
        f'<div class="cover cover-{size} cover-generated cover-hue-{cover_hue(book.isbn)}" {role}>'
        f'<span class="cover-title"{_lang(book.language, page)}>{esc(Truncator(book.title).chars(70))}</span>'
        + (f'<span class="cover-author">{esc(byline)}</span>' if byline else "")
        + "</div>"
    )


@register.simple_tag(takes_context=True)
def cover(context, book, size="small", decorative=False):
    return mark_safe(cover_html(book, page=_page_language(context), size=size, decorative=decorative))


def _authors_html(book) -> str:
    if authors := book.authors:
        return f'<span class="authors">{", ".join(esc(c.name) for c in authors)}</span>'
    label, names = book.byline()
    return f'<span class="authors">{esc(label)} {", ".join(esc(n) for n in names)}</span>' if names else ""


def _offer_html(book) -> str:
    price = f'<span class="price">{esc(euros(book.price))}</span> ' if book.price is not None else ""
    if book.shops_in_stock and book.is_out_of_print:
        text = gettext("Épuisé chez l'éditeur — disponible en librairie")
        badge = f'<span class="badge oop">{text}</span>'
    elif book.shops_in_stock:
        count = book.shops_in_stock
        text = ngettext("En stock dans %(counter)s librairie", "En stock dans %(counter)s librairies", count)
        badge = f'<span class="badge">{_blocktranslated(text, counter=count)}</span>'
    else:
        badge = f'<span class="badge none">{gettext("Pas en stock dans le réseau pour le moment")}</span>'
    return f'<p class="result-offer">{price}{badge}</p>'


def _nearby_html(book, location) -> str:
    if not (location and book.shops_in_stock):
        return ""
    radius = location.radius_km
    near = getattr(book, "nearby", None)
    if not near:
        return f'<p class="nearby">{_blocktranslated(gettext("Aucune librairie à moins de %(radius)s km"), radius=radius)}</p>'
    if near.distance_km is not None:
        text = _blocktranslated(
            gettext("Le plus proche : %(name)s, à %(distance)s"), name=near.shop.name, distance=km(near.distance_km)
        )
    else:
        text = _blocktranslated(gettext("Le plus proche : %(name)s"), name=near.shop.name)
    if radius:
        within = ngettext(
            "%(counter)s librairie à moins de %(radius)s km",
            "%(counter)s librairies à moins de %(radius)s km",
            near.shops_within_radius,
        )
        text += " · " + _blocktranslated(within, counter=near.shops_within_radius, radius=radius)
    return f'<p class="nearby">{text}</p>'


def result_html(book, *, location, page: str) -> str:
    """One book of a search's result list (``<li class="result">``)."""
    lang = _lang(book.language, page)
    title = f'<a href="{esc(book.get_absolute_url())}"{lang}>{esc(book.title)}</a>'
    if book.subtitle:
        title += f" <small{lang}>{esc(book.subtitle)}</small>"
    meta = _authors_html(book)
    if book.product_form != Book.Form.PRINT:
        meta += f' <span class="product-form">{esc(book.get_product_form_display())}</span>'
    meta += "\n          "
    if book.publisher:
        meta += f"· {esc(book.publisher)}"
    if book.published_on:
        meta += f" · {book.published_on.year}"
    return (
        f'<li class="result">\n      {cover_html(book, page=page, decorative=True)}\n      <div class="result-body">\n'
        f'        <h2>{title}</h2>\n        <p class="book-meta">{meta}</p>\n        {_offer_html(book)}\n'
        f"        {_nearby_html(book, location)}\n      </div>\n    </li>\n"
    )


@register.simple_tag(takes_context=True)
def search_results(context, books, location=None):
    """The rows of a search's result list, for the ``<ol class="results">`` around them."""
    page = _page_language(context)
    return mark_safe("".join(result_html(book, location=location, page=page) for book in books))
