"""Read ONIX for Books messages (3.0/3.1 reference or short tags, 2.1) product by product.

The parser streams the file with ``lxml.etree.iterparse`` so a feed of
thousands of products never sits whole in memory. It yields an
``OnixProduct`` for every usable product and a ``ProductProblem`` for every
product it cannot use; a file that is not ONIX, or not well-formed XML,
raises ``OnixFileError``.
"""

import csv
import datetime
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree, html

from ..exceptions import InvalidISBN
from ..isbn import normalize_isbn
from ..models import Book, Contributor, Subject

CLIL_FILE = Path(__file__).resolve().parent.parent / "data" / "themes-clil.csv"

#: ONIX short tags → reference names, for the elements this reader uses.
SHORT_TAGS = {
    "a001": "RecordReference",
    "b221": "ProductIDType",
    "b244": "IDValue",
    "b004": "ISBN",
    "b005": "EAN13",
    "b012": "ProductForm",
    "b202": "TitleType",
    "x409": "TitleElementLevel",
    "b203": "TitleText",
    "b030": "TitlePrefix",
    "b031": "TitleWithoutPrefix",
    "b029": "Subtitle",
    "x410": "PartNumber",
    "b028": "DistinctiveTitle",
    "b018": "TitleOfSeries",
    "b034": "SequenceNumber",
    "b035": "ContributorRole",
    "b036": "PersonName",
    "b037": "PersonNameInverted",
    "b039": "NamesBeforeKey",
    "b040": "KeyNames",
    "b047": "CorporateName",
    "b218": "ExtentType",
    "b219": "ExtentValue",
    "b220": "ExtentUnit",
    "b061": "NumberOfPages",
    "b253": "LanguageRole",
    "b252": "LanguageCode",
    "b059": "LanguageOfText",
    "x425": "MainSubject",
    "b191": "MainSubjectSchemeIdentifier",
    "b067": "SubjectSchemeIdentifier",
    "b069": "SubjectCode",
    "b070": "SubjectHeadingText",
    "x426": "TextType",
    "d102": "TextTypeCode",
    "d103": "TextFormat",
    "d104": "Text",
    "b079": "ImprintName",
    "b081": "PublisherName",
    "b291": "PublishingRole",
    "b394": "PublishingStatus",
    "x448": "PublishingDateRole",
    "j260": "DateFormat",
    "b306": "Date",
    "b003": "PublicationDate",
    "j396": "ProductAvailability",
    "j141": "AvailabilityCode",
    "m184": "DefaultLanguageOfText",
}
_CONTAINERS = [
    "ONIXMessage", "Header", "Product", "ProductIdentifier", "DescriptiveDetail", "TitleDetail", "TitleElement",
    "Collection", "Contributor", "Extent", "Language", "Subject", "CollateralDetail", "TextContent",
    "OtherText", "PublishingDetail", "Imprint", "Publisher", "PublishingDate", "ProductSupply", "SupplyDetail",
    "Title", "Series",
]
SHORT_TAGS.update({name.lower(): name for name in _CONTAINERS})
ROOT_NAMES = {"ONIXMessage", "ONIXmessage"}
PRODUCT_NAMES = {"Product", "product"}

#: ONIX list 17 (contributor role) → our roles; anything else is "other".
ROLES = {
    "A01": Contributor.Role.AUTHOR,
    "A02": Contributor.Role.AUTHOR,
    "A09": Contributor.Role.AUTHOR,
    "A12": Contributor.Role.ILLUSTRATOR,
    "A35": Contributor.Role.ILLUSTRATOR,
    "A36": Contributor.Role.ILLUSTRATOR,
    "B06": Contributor.Role.TRANSLATOR,
    "B01": Contributor.Role.EDITOR,
    "B09": Contributor.Role.EDITOR,
    "B11": Contributor.Role.EDITOR,
    "A15": Contributor.Role.PREFACE,
    "A16": Contributor.Role.PREFACE,
    "A23": Contributor.Role.PREFACE,
    "A24": Contributor.Role.PREFACE,
}

A = Book.Availability
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

THEMA_SCHEMES = {str(n) for n in range(93, 100)}
CLIL_SCHEME = "29"


class OnixFileError(Exception):
    """A file that cannot be read as ONIX at all (``message`` says why)."""

    def __init__(self, message, products_read=0):
        self.message = message
        self.products_read = products_read
        super().__init__(message)


@dataclass
class OnixProduct:
    """The metadata of one book, as read from one ONIX product."""

    position: int
    reference: str
    isbn: str
    title: str
    subtitle: str = ""
    publisher: str = ""
    collection: str = ""
    published_on: datetime.date | None = None
    page_count: int | None = None
    language: str = ""
    summary: str = ""
    availability: str | None = None
    #: [(name, role), …] in the publisher's order.
    contributors: list[tuple[str, str]] = field(default_factory=list)
    #: [(scheme, code, name), …]
    subjects: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def book_values(self) -> dict:
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "publisher": self.publisher,
            "collection": self.collection,
            "published_on": self.published_on,
            "page_count": self.page_count,
            "language": self.language,
            "summary": self.summary,
            "availability": self.availability,
        }


@dataclass
class ProductProblem:
    """A product that was not imported, and why."""

    position: int
    reference: str
    value: str
    error: str


@functools.cache
def clil_names() -> dict[str, str]:
    """CLIL subject code → French name, from the shipped table."""
    names = {}
    with CLIL_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter=";"):
            cells = [cell.strip() for cell in row]
            codes = [cell for cell in cells[:-1] if cell]
            if codes and cells[-1]:
                names[codes[0]] = cells[-1]
    return names


def _local(tag) -> str:
    name = tag.rsplit("}", 1)[-1]
    return SHORT_TAGS.get(name, name)


def _normalise_tags(element) -> None:
    """Rename every element to its reference name without namespace, in place."""
    if element.tag == "Product":
        return  # reference tags without namespace: nothing to do
    short = SHORT_TAGS
    for el in element.iter(etree.Element):
        name = el.tag.rsplit("}", 1)[-1]
        el.tag = short.get(name, name)


def _text(element, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    if found is None:
        return ""
    return " ".join("".join(found.itertext()).split())


def iter_onix(source) -> Iterator[OnixProduct | ProductProblem]:
    """Yield the products of an ONIX file (a path, bytes, or a binary file object)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    elif isinstance(source, Path):
        source = str(source)
    parser_events = etree.iterparse(
        source,
        events=("end",),
        tag=("{*}Product", "{*}product", "{*}Header", "{*}header"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )
    root = None
    default_language = ""
    position = 0
    try:
        for _event, element in parser_events:
            if root is None:
                root = element.getroottree().getroot()
                _check_root(root)
            if element.getparent() is not root:
                continue
            if element.tag.rsplit("}", 1)[-1] in ("Header", "header"):
                _normalise_tags(element)
                default_language = _text(element, "DefaultLanguageOfText").lower()
            else:
                position += 1
                _normalise_tags(element)
                yield parse_product(element, position, default_language=default_language)
            element.clear()
            while element.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        raise OnixFileError(
            _("XML illisible : fichier vide, tronqué ou d'un autre format (ligne %(line)s) : %(error)s")
            % {"line": exc.lineno, "error": exc.msg},
            products_read=position,
        ) from None
    if root is None:
        if parser_events.root is None:
            raise OnixFileError(_("fichier vide"))
        _check_root(parser_events.root)


def _check_root(root) -> None:
    name = etree.QName(root.tag).localname
    if name not in ROOT_NAMES:
        raise OnixFileError(_("ce n'est pas un message ONIX (élément racine « %(name)s »)") % {"name": name})


def parse_product(product, position: int, *, default_language: str = "") -> OnixProduct | ProductProblem:
    """Read one ``Product`` element whose tags carry reference names."""
    reference = _text(product, "RecordReference")
    isbn, raw_id = _isbn(product)
    if not isbn:
        if raw_id:
            return ProductProblem(position, reference, raw_id, _("ISBN invalide : %(reason)s") % {"reason": _isbn_error(raw_id)})
        return ProductProblem(position, reference, "", _("aucun ISBN (ProductIDType 15 ou 03) dans ce produit"))
    detail = product.find("DescriptiveDetail")
    body = detail if detail is not None else product  # ONIX 2.1 has no DescriptiveDetail
    title, subtitle, level2 = _title(body)
    if not title:
        return ProductProblem(position, reference, isbn, _("titre manquant"))
    item = OnixProduct(position=position, reference=reference, isbn=isbn, title=title[:500], subtitle=subtitle[:500])
    item.collection = (_collection(body) or level2)[:200]
    item.contributors = _contributors(body)
    item.publisher = _publisher(product)[:200]
    item.published_on = _publication_date(product, item)
    item.page_count = _page_count(body)
    item.language = (_language(body) or default_language)[:3]
    item.subjects = _subjects(body)
    item.summary = _summary(product)
    item.availability = _availability(product)
    return item


def _isbn(product) -> tuple[str, str]:
    """(ISBN-13, "") when found, else ("", the rejected identifier or "")."""
    candidates = []
    for identifier in product.findall("ProductIdentifier"):
        id_type = _text(identifier, "ProductIDType")
        if id_type in ("15", "03", "02"):
            candidates.append((id_type, _text(identifier, "IDValue")))
    candidates.sort(key=lambda c: {"15": 0, "03": 1, "02": 2}[c[0]])
    candidates += [("15", _text(product, "EAN13")), ("02", _text(product, "ISBN"))]
    rejected = ""
    for id_type, value in candidates:
        if not value:
            continue
        if id_type == "03" and not value.startswith(("978", "979")):
            continue  # a GTIN that is not a book number (e-book bundle, goods)
        try:
            return normalize_isbn(value), ""
        except InvalidISBN:
            rejected = rejected or value
    return "", rejected


def _isbn_error(value: str) -> str:
    try:
        normalize_isbn(value)
    except InvalidISBN as exc:
        return str(exc.message)
    return ""


def _element_title(element) -> str:
    text = _text(element, "TitleText")
    if not text:
        prefix, rest = _text(element, "TitlePrefix"), _text(element, "TitleWithoutPrefix")
        text = f"{prefix} {rest}".strip() if prefix and not prefix.endswith("'") else f"{prefix}{rest}"
    return text


def _title(body) -> tuple[str, str, str]:
    """(title, subtitle, collection title given inside the product's title)."""
    details = body.findall("TitleDetail")
    details.sort(key=lambda d: _text(d, "TitleType") != "01")
    for detail in details:
        level2 = ""
        for element in detail.findall("TitleElement"):
            level = _text(element, "TitleElementLevel") or "01"
            if level == "02":
                level2 = level2 or _element_title(element)
        for element in detail.findall("TitleElement"):
            if (_text(element, "TitleElementLevel") or "01") == "01":
                title = _element_title(element)
                if title:
                    return title, _text(element, "Subtitle"), level2
    # ONIX 2.1
    for title_el in sorted(body.findall("Title"), key=lambda t: _text(t, "TitleType") != "01"):
        title = _element_title(title_el)
        if title:
            return title, _text(title_el, "Subtitle"), ""
    distinctive = _text(body, "DistinctiveTitle")
    return distinctive, _text(body, "Subtitle"), ""


def _collection(body) -> str:
    for collection in body.findall("Collection"):
        elements = [e for d in collection.findall("TitleDetail") for e in d.findall("TitleElement")]
        elements.sort(key=lambda e: _text(e, "TitleElementLevel") != "02")
        for element in elements:
            if title := _element_title(element):
                return title
    for series in body.findall("Series"):
        title_el = series.find("Title")
        if title := _text(series, "TitleOfSeries") or _element_title(title_el if title_el is not None else series):
            return title
    return ""


def _contributors(body) -> list[tuple[str, str]]:
    people = []
    for index, contributor in enumerate(body.findall("Contributor")):
        name = _text(contributor, "PersonName")
        if not name:
            name = " ".join(filter(None, [_text(contributor, "NamesBeforeKey"), _text(contributor, "KeyNames")]))
        if not name:
            inverted = _text(contributor, "PersonNameInverted")
            name = " ".join(reversed([p.strip() for p in inverted.split(",", 1)])) if inverted else ""
        name = name or _text(contributor, "CorporateName")
        if not name:
            continue
        codes = [_text(r, ".") for r in contributor.findall("ContributorRole")]
        role = next((ROLES[c] for c in codes if c in ROLES), Contributor.Role.OTHER)
        try:
            sequence = int(_text(contributor, "SequenceNumber"))
        except ValueError:
            sequence = index + 1
        people.append((sequence, index, name[:300], role))
    people.sort()
    return [(name, role) for _seq, _index, name, role in people]


def _publisher(product) -> str:
    containers = [product.find("PublishingDetail"), product]
    for container in containers:
        if container is None:
            continue
        publishers = container.findall("Publisher")
        publishers.sort(key=lambda p: _text(p, "PublishingRole") not in ("", "01"))
        for publisher in publishers:
            if name := _text(publisher, "PublisherName"):
                return name
        if name := _text(container, "PublisherName"):
            return name
        for imprint in container.findall("Imprint"):
            if name := _text(imprint, "ImprintName"):
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


def _publication_date(product, item: OnixProduct) -> datetime.date | None:
    detail = product.find("PublishingDetail")
    candidates = []
    if detail is not None:
        for date_el in detail.findall("PublishingDate"):
            role = _text(date_el, "PublishingDateRole")
            date_node = date_el.find("Date")
            fmt = _text(date_el, "DateFormat") or (date_node.get("dateformat", "") if date_node is not None else "")
            rank = {"01": 0, "11": 1, "12": 2}.get(role)
            if rank is not None:
                candidates.append((rank, _text(date_el, "Date"), fmt))
    if (legacy := product.find("PublicationDate")) is not None:
        candidates.append((0, _text(legacy, "."), legacy.get("dateformat", "")))
    for _rank, value, fmt in sorted(candidates, key=lambda c: c[0]):
        parsed = parse_onix_date(value, fmt)
        if parsed:
            return parsed
        item.warnings.append(_("date de parution illisible : %(value)s") % {"value": value})
    return None


def _page_count(body) -> int | None:
    extents = {}
    for extent in body.findall("Extent"):
        unit = _text(extent, "ExtentUnit")
        if unit and unit != "03":
            continue
        try:
            extents.setdefault(_text(extent, "ExtentType"), int(float(_text(extent, "ExtentValue"))))
        except ValueError:
            continue
    for extent_type in ("00", "11", "08", "07", "05"):
        if extents.get(extent_type):
            return extents[extent_type]
    try:
        return int(_text(body, "NumberOfPages")) or None
    except ValueError:
        return None


def _language(body) -> str:
    languages = body.findall("Language")
    languages.sort(key=lambda lang: _text(lang, "LanguageRole") != "01")
    for language in languages:
        if code := _text(language, "LanguageCode"):
            return code.lower()
    return _text(body, "LanguageOfText").lower()


def _subjects(body) -> list[tuple[str, str, str]]:
    subjects = []
    clil = clil_names()
    for subject in [*body.findall("Subject"), *body.findall("MainSubject")]:
        scheme = _text(subject, "SubjectSchemeIdentifier") or _text(subject, "MainSubjectSchemeIdentifier")
        code = _text(subject, "SubjectCode")
        heading = _text(subject, "SubjectHeadingText")
        if scheme == CLIL_SCHEME and code:
            subjects.append((Subject.Scheme.CLIL, code, clil.get(code) or heading or code))
        elif scheme in THEMA_SCHEMES and code:
            subjects.append((Subject.Scheme.THEMA, code, heading or code))
    seen = set()
    return [s for s in subjects if not (s[:2] in seen or seen.add(s[:2]))]


def html_to_text(value: str) -> str:
    """Plain text from a summary that may hold (escaped) HTML; paragraphs kept."""
    if "<" not in value:
        return "\n".join(" ".join(line.split()) for line in value.strip().splitlines() if line.strip())
    try:
        fragment = html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(re.sub(r"<[^>]*>", " ", value).split())
    for bad in fragment.xpath(".//script|.//style"):
        bad.drop_tree()
    for block in fragment.xpath(".//p|.//br|.//div|.//li|.//h1|.//h2|.//h3|.//h4"):
        block.tail = "\n" + (block.tail or "")
    text = fragment.text_content()
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _summary(product) -> str:
    texts = {}
    containers = [product.find("CollateralDetail"), product]
    for container in containers:
        if container is None:
            continue
        for content in [*container.findall("TextContent"), *container.findall("OtherText")]:
            text_type = _text(content, "TextType") or _text(content, "TextTypeCode")
            text_el = content.find("Text")
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


def _availability(product) -> str | None:
    detail = product.find("PublishingDetail")
    status = _text(detail, "PublishingStatus") if detail is not None else _text(product, "PublishingStatus")
    if status in PUBLISHING_STATUS_DECISIVE:
        return PUBLISHING_STATUS_DECISIVE[status]
    supplied = []
    for supply in product.iter("SupplyDetail"):
        for tag in ("ProductAvailability", "AvailabilityCode"):
            if (code := _text(supply, tag)) in PRODUCT_AVAILABILITY:
                supplied.append(PRODUCT_AVAILABILITY[code])
    if supplied:
        return min(supplied, key=_HOPE.index)
    return PUBLISHING_STATUS_DEFAULT.get(status)
