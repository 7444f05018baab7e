"""Read ONIX for Books messages (3.0/3.1 reference or short tags, 2.1) product by product.

The parser streams the file with ``lxml.etree.iterparse`` so a feed of
thousands of products never sits whole in memory. It yields an
``OnixProduct`` for every usable product, an ``OnixDeletion`` for every
deletion notice (NotificationType 05) and a ``ProductProblem`` for every
product it cannot use; a file that is not ONIX, or not well-formed XML,
raises ``OnixFileError``. A file whose XML declaration names the wrong
encoding is read in the encoding its bytes are in (see ``xml.sniff_encoding``).
"""

import datetime
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from lxml import etree

from ..exceptions import InvalidISBN
from ..isbn import normalize_isbn
from . import books
from .contributors import read_contributors
from .subjects import read_subjects
from .xml import Utf8Reader, children, first, normalise_tags, sniff_encoding, text, texts

ROOT_NAMES = {"ONIXMessage", "ONIXmessage"}
#: NotificationType (list 1) of a deletion notice.
DELETE = "05"


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
    product_form: str = "print"
    product_form_code: str = ""
    #: [(name, role), …] in the publisher's order.
    contributors: list[tuple[str, str]] = field(default_factory=list)
    #: [(scheme, code, heading sent), …]
    subjects: list[tuple[str, str, str]] = field(default_factory=list)
    #: ISBNs of the same work in other forms.
    other_forms: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: ``record_digest`` of the record read (set by the import).
    digest: str = ""

    def book_values(self) -> dict:
        return {name: getattr(self, name) for name in books.FIELDS}


@dataclass
class OnixDeletion:
    """A deletion notice: the sender withdraws its record of this book."""

    position: int
    reference: str
    isbn: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class ProductProblem:
    """A product that was not imported, and why."""

    position: int
    reference: str
    value: str
    error: str


@dataclass
class OnixHeader:
    """What the file says about itself: who sent it, in which encoding it was read."""

    sender: str = ""
    default_language: str = ""
    encoding: str = ""
    warnings: list[str] = field(default_factory=list)


def _open(source, header: OnixHeader):
    """A binary stream lxml reads as it should: re-encoded to UTF-8 when the declaration lies."""
    if isinstance(source, bytes):
        stream = io.BytesIO(source)
    elif isinstance(source, (str, Path)):
        stream = open(source, "rb")  # noqa: SIM115 - closed by iter_onix
    else:
        stream = source
        if not stream.seekable():
            stream = io.BytesIO(stream.read())
    encoding = sniff_encoding(stream)
    header.encoding = encoding.name
    if encoding.warning:
        header.warnings.append(encoding.warning)
        return stream, Utf8Reader(stream, encoding.name)
    return stream, stream


def iter_onix(source, header: OnixHeader | None = None) -> Iterator[OnixProduct | OnixDeletion | ProductProblem]:
    """Yield the products of an ONIX file (a path, bytes, or a binary file object); ``header`` is filled on the way."""
    header = header if header is not None else OnixHeader()
    for record in iter_records(source, header):
        yield record.parse(header)
        record.element.clear()


@dataclass
class OnixRecord:
    """One product element as read, not interpreted yet; ``digest`` tells an unchanged record without reading it."""

    position: int
    element: etree._Element

    @property
    def digest(self) -> str:
        return record_digest(self.element)

    def parse(self, header: OnixHeader) -> OnixProduct | OnixDeletion | ProductProblem:
        normalise_tags(self.element)
        return parse_product(self.element, self.position, default_language=header.default_language)


#: Changes whenever the reader reads a record differently, so that every record is read again once.
READER_VERSION = b"onix-reader-1"


def record_digest(element) -> str:
    """A hash of a product's record as sent (before its tags are renamed) and of the reader's version."""
    return hashlib.blake2b(etree.tostring(element, encoding="utf-8") + READER_VERSION, digest_size=16).hexdigest()


def iter_records(source, header: OnixHeader | None = None) -> Iterator[OnixRecord]:
    """Yield the product elements of an ONIX file one by one, each detached from the file's tree once the next is read."""
    header = header if header is not None else OnixHeader()
    raw, stream = _open(source, header)
    try:
        yield from _iter_records(stream, header)
    finally:
        if raw is not source:
            raw.close()


def _iter_records(stream, header: OnixHeader):
    parser_events = etree.iterparse(
        stream,
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
    position = 0
    try:
        for _event, element in parser_events:
            if root is None:
                root = element.getroottree().getroot()
                _check_root(root)
            if element.getparent() is not root:
                continue
            # Records already handed out leave the tree (they live on while their reader holds them).
            while element.getprevious() is not None:
                del root[0]
            if etree.QName(element).localname in ("Header", "header"):
                normalise_tags(element)
                header.default_language = text(element, "DefaultLanguageOfText").lower()
                header.sender = text(first(element, "Sender"), "SenderName") or text(element, "FromCompany")
                element.clear()
            else:
                position += 1
                yield OnixRecord(position, element)
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


def parse_product(product, position: int, *, default_language: str = "") -> OnixProduct | OnixDeletion | ProductProblem:
    """Read one ``Product`` element whose tags carry reference names."""
    reference = text(product, "RecordReference")
    isbn, raw_id = isbn_of(product)
    if not isbn:
        if raw_id:
            return ProductProblem(
                position, reference, raw_id, _("ISBN invalide : %(reason)s") % {"reason": _isbn_error(raw_id)}
            )
        return ProductProblem(position, reference, "", _("aucun ISBN (ProductIDType 15 ou 03) dans ce produit"))
    if text(product, "NotificationType") == DELETE:
        return OnixDeletion(position, reference, isbn)
    detail = first(product, "DescriptiveDetail")
    body = detail if detail is not None else product  # ONIX 2.1 has no DescriptiveDetail
    title, subtitle, level2 = books.read_title(body)
    if not title:
        return ProductProblem(position, reference, isbn, _("titre manquant"))
    item = OnixProduct(position=position, reference=reference, isbn=isbn, title=title[:500], subtitle=subtitle[:500])
    item.collection = (books.read_collection(body) or level2)[:200]
    item.contributors = read_contributors(body)
    item.publisher = books.read_publisher(product)[:200]
    item.published_on = books.read_publication_date(product, item.warnings)
    item.page_count = books.read_page_count(body)
    item.language = (books.read_language(body) or default_language)[:3]
    item.subjects = read_subjects(body)
    item.summary = books.read_summary(product)
    item.availability = books.read_availability(product)
    item.product_form_code = text(body, "ProductForm").upper()[:4]
    item.product_form = books.product_form(item.product_form_code)
    item.other_forms = [other for other in books.read_other_forms(product, isbn_of) if other != isbn]
    return item


_IDENTIFIER = frozenset(["ProductIDType", "IDValue"])


def isbn_of(product) -> tuple[str, str]:
    """(ISBN-13, "") when found, else ("", the rejected identifier or "")."""
    candidates = []
    for identifier in children(product, "ProductIdentifier"):
        values = texts(identifier, _IDENTIFIER)
        if (id_type := values.get("ProductIDType")) in ("15", "03", "02"):
            candidates.append((id_type, values.get("IDValue", "")))
    candidates.sort(key=lambda c: {"15": 0, "03": 1, "02": 2}[c[0]])
    candidates += [("15", text(product, "EAN13")), ("02", text(product, "ISBN"))]
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
