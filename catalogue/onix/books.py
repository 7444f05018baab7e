"""ONIX book fields (title, collection, publisher, dates, pages, language, summary, availability, form) and their writing."""

import datetime
import html as html_entities
import re

from django.utils.translation import gettext as _
from lxml import etree, html

from ..models import Book, FormLink
from .xml import children, element_text, first, text, texts

A = Book.Availability
F = Book.Form
#: PublishingStatus (list 64) values that settle availability on their own.
PUBLISHING_STATUS_DECISIVE = {
    "02": A.FORTHCOMING,
    "06": A.TEMPORARILY_UNAVAILABLE,
    "07": A.OUT_OF_PRINT,
    "08": A.OUT_OF_PRINT,
    "11": A.OUT_OF_PRINT,
    "16": A.TEMPORARILY_UNAVAILABLE,
    "17": A.OUT_OF_PRINT,
}
PUBLISHING_STATUS_DEFAULT = {"04": A.AVAILABLE, "03": A.TEMPORARILY_UNAVAILABLE}
#: ProductAvailability (list 65) and ONIX 2.1 AvailabilityCode (list 54).
PRODUCT_AVAILABILITY = {
    **dict.fromkeys(["09", "10", "11", "12", "NP"], A.FORTHCOMING),
    **dict.fromkeys(["20", "21", "22", "23", "IP"], A.AVAILABLE),
    **dict.fromkeys(["30", "31", "32", "33", "34", "TU"], A.TEMPORARILY_UNAVAILABLE),
    **dict.fromkeys(["40", "41", "42", "46", "48", "51", "OP", "WS"], A.OUT_OF_PRINT),
}
#: When suppliers disagree, the most hopeful answer wins.
_HOPE = [A.AVAILABLE, A.TEMPORARILY_UNAVAILABLE, A.FORTHCOMING, A.OUT_OF_PRINT]
#: ProductForm (list 150; list 7 in ONIX 2.1) by first letter; "00" and unknown codes count as print.
FORM_BY_LETTER = {"B": F.PRINT, "A": F.AUDIO, "E": F.EBOOK}
#: Digital products on ONIX 2.1's D list (DG e-book text, DH online resource, DI downloadable file…).
FORM_EXCEPTIONS = {"DG": F.EBOOK, "DH": F.EBOOK, "DI": F.EBOOK, "DJ": F.EBOOK, "DN": F.EBOOK, "00": F.PRINT}
#: ProductRelationCode (list 51) meaning "the same work in another form".
FORM_RELATIONS = {"06", "13", "27"}
#: Book fields ONIX sets (a deletion notice withdraws them).
FIELDS = (
    "title",
    "subtitle",
    "publisher",
    "collection",
    "published_on",
    "page_count",
    "language",
    "summary",
    "availability",
    "product_form",
    "product_form_code",
)


def product_form(code: str) -> str:
    code = code.upper()
    if code in FORM_EXCEPTIONS:
        return FORM_EXCEPTIONS[code]
    return FORM_BY_LETTER.get(code[:1], F.OTHER) if code else F.PRINT


_TITLE = frozenset(["TitleText", "TitlePrefix", "TitleWithoutPrefix", "TitleElementLevel", "Subtitle"])


def _element_title(element, values: dict[str, str] | None = None) -> str:
    values = texts(element, _TITLE) if values is None else values
    value = values.get("TitleText")
    if not value:
        prefix, rest = values.get("TitlePrefix", ""), values.get("TitleWithoutPrefix", "")
        value = f"{prefix} {rest}".strip() if prefix and not prefix.endswith("'") else f"{prefix}{rest}"
    return value


def read_title(body) -> tuple[str, str, str]:
    """(title, subtitle, collection title given inside the product's title)."""
    details = children(body, "TitleDetail")
    details.sort(key=lambda d: text(d, "TitleType") != "01")
    for detail in details:
        elements = [(e, texts(e, _TITLE)) for e in children(detail, "TitleElement")]
        level2 = next(
            (t for e, v in elements if v.get("TitleElementLevel") == "02" and (t := _element_title(e, v))), ""
        )
        for element, values in elements:
            if (values.get("TitleElementLevel") or "01") == "01" and (title := _element_title(element, values)):
                return title, values.get("Subtitle", ""), level2
    for title_el in sorted(children(body, "Title"), key=lambda t: text(t, "TitleType") != "01"):  # ONIX 2.1
        if title := _element_title(title_el):
            return title, text(title_el, "Subtitle"), ""
    return text(body, "DistinctiveTitle"), text(body, "Subtitle"), ""


def read_collection(body) -> str:
    for collection in children(body, "Collection"):
        elements = [e for d in children(collection, "TitleDetail") for e in children(d, "TitleElement")]
        elements.sort(key=lambda e: text(e, "TitleElementLevel") != "02")
        for element in elements:
            if title := _element_title(element):
                return title
    for series in children(body, "Series"):
        title_el = first(series, "Title")
        if title := text(series, "TitleOfSeries") or _element_title(title_el if title_el is not None else series):
            return title
    return ""


def read_publisher(product) -> str:
    for container in (first(product, "PublishingDetail"), product):
        if container is None:
            continue
        publishers = children(container, "Publisher")
        publishers.sort(key=lambda p: text(p, "PublishingRole") not in ("", "01"))
        for publisher in publishers:
            if name := text(publisher, "PublisherName"):
                return name
        if name := text(container, "PublisherName"):
            return name
        for imprint in children(container, "Imprint"):
            if name := text(imprint, "ImprintName"):
                return name
    return ""


def parse_onix_date(value: str, date_format: str = "") -> datetime.date | None:
    """A date from ONIX's formats (YYYYMMDD, YYYYMM, YYYY, with or without time or dashes)."""
    value = (value or "").strip()
    digits = re.sub(r"[^0-9]", "", value.split("T")[0])
    if date_format == "05" or len(digits) == 4:
        digits = digits[:4] + "0101"
    elif date_format == "01" or len(digits) == 6:
        digits = digits[:6] + "01"
    if len(digits) != 8:
        return None
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


_DATE = frozenset(["PublishingDateRole", "DateFormat", "Date"])


def read_publication_date(product, warnings: list[str]) -> datetime.date | None:
    detail = first(product, "PublishingDetail")
    candidates = []
    if detail is not None:
        for date_el in children(detail, "PublishingDate"):
            values = texts(date_el, _DATE)
            rank = {"01": 0, "11": 1, "12": 2}.get(values.get("PublishingDateRole"))
            if rank is not None:
                date_node = first(date_el, "Date")
                fmt = values.get("DateFormat") or (date_node.get("dateformat", "") if date_node is not None else "")
                candidates.append((rank, values.get("Date", ""), fmt))
    if (legacy := first(product, "PublicationDate")) is not None:
        candidates.append((0, element_text(legacy), legacy.get("dateformat", "")))
    for _rank, value, fmt in sorted(candidates, key=lambda c: c[0]):
        if parsed := parse_onix_date(value, fmt):
            return parsed
        warnings.append(_("date de parution illisible : %(value)s") % {"value": value})
    return None


_EXTENT = frozenset(["ExtentUnit", "ExtentType", "ExtentValue"])


def read_page_count(body) -> int | None:
    extents = {}
    for extent in children(body, "Extent"):
        values = texts(extent, _EXTENT)
        unit = values.get("ExtentUnit")
        if unit and unit != "03":
            continue
        try:
            extents.setdefault(values.get("ExtentType", ""), int(float(values.get("ExtentValue", ""))))
        except ValueError:
            continue
    for extent_type in ("00", "11", "08", "07", "05"):
        if extents.get(extent_type):
            return extents[extent_type]
    try:
        return int(text(body, "NumberOfPages")) or None
    except ValueError:
        return None


def read_language(body) -> str:
    languages = children(body, "Language")
    languages.sort(key=lambda lang: text(lang, "LanguageRole") != "01")
    for language in languages:
        if code := text(language, "LanguageCode"):
            return code.lower()
    return text(body, "LanguageOfText").lower()


def _lines(value: str) -> str:
    return "\n".join(" ".join(line.split()) for line in value.splitlines() if line.strip())


def html_to_text(value: str) -> str:
    """Plain text from a summary that may hold HTML, escaped or not, or bare entities; paragraphs kept."""
    if "<" not in value:
        value = html_entities.unescape(value)  # "d&eacute;j&agrave;" sent without markup
        if "<" not in value:
            return _lines(value.replace("\xa0", " "))
    try:
        fragment = html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(html_entities.unescape(re.sub(r"<[^>]*>", " ", value)).split())
    for bad in fragment.xpath(".//script|.//style"):
        bad.drop_tree()
    for block in fragment.xpath(".//p|.//br|.//div|.//li|.//h1|.//h2|.//h3|.//h4"):
        block.tail = "\n" + (block.tail or "")
    return _lines(fragment.text_content().replace("\xa0", " "))


def read_summary(product) -> str:
    texts = {}
    for container in (first(product, "CollateralDetail"), product):
        if container is None:
            continue
        for content in [*children(container, "TextContent"), *children(container, "OtherText")]:
            text_type = text(content, "TextType") or text(content, "TextTypeCode")
            text_el = first(content, "Text")
            if text_el is None:
                continue
            if len(text_el):  # XHTML given as elements
                raw = (text_el.text or "") + "".join(
                    etree.tostring(child, encoding="unicode", with_tail=True) for child in text_el
                )
                raw = re.sub(r"<(/?)[A-Za-z]+:", r"<\1", raw)
            else:
                raw = text_el.text or ""
            texts.setdefault(text_type, raw)
    for text_type in ("03", "02", "01"):
        if texts.get(text_type):
            return html_to_text(texts[text_type])
    return ""


def read_availability(product) -> str | None:
    detail = first(product, "PublishingDetail")
    status = text(detail if detail is not None else product, "PublishingStatus")
    if status in PUBLISHING_STATUS_DECISIVE:
        return PUBLISHING_STATUS_DECISIVE[status]
    supplied = []
    for supply in product.iter("SupplyDetail"):
        for tag in ("ProductAvailability", "AvailabilityCode"):
            if (code := text(supply, tag)) in PRODUCT_AVAILABILITY:
                if PRODUCT_AVAILABILITY[code] == A.AVAILABLE:
                    return A.AVAILABLE  # the most hopeful answer: no need to read the other suppliers
                supplied.append(PRODUCT_AVAILABILITY[code])
    if supplied:
        return min(supplied, key=_HOPE.index)
    return PUBLISHING_STATUS_DEFAULT.get(status)


def read_other_forms(product, isbn_of) -> list[str]:
    """ISBNs the publisher gives as this work in another form (related product 06, 13, 27)."""
    related = [
        *(r for m in children(product, "RelatedMaterial") for r in children(m, "RelatedProduct")),
        *children(product, "RelatedProduct"),
    ]
    isbns = []
    for element in related:
        if (text(element, "ProductRelationCode") or text(element, "RelationCode")) in FORM_RELATIONS:
            isbn, _rejected = isbn_of(element)
            if isbn and isbn not in isbns:
                isbns.append(isbn)
    return isbns


def form_links_replace(pairs: dict[int, list[str]]) -> None:
    """Each book's links to its other forms become exactly ``pairs[book_id]``."""
    if not pairs:
        return
    FormLink.objects.filter(book_id__in=list(pairs)).delete()
    FormLink.objects.bulk_create([FormLink(book_id=b, isbn=isbn) for b, isbns in pairs.items() for isbn in isbns])
