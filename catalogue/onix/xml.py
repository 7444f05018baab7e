"""The XML layer of ONIX: tag names (reference, short, namespaced), text of a child, and the file's encoding."""

import codecs
import io
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from lxml import etree

#: ONIX short tags → reference names, for the elements this reader uses.
SHORT_TAGS = {
    "a001": "RecordReference",
    "a002": "NotificationType",
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
    "x298": "SenderName",
    "m174": "FromCompany",
    "x455": "ProductRelationCode",
    "h208": "RelationCode",
}
_CONTAINERS = [
    "ONIXMessage",
    "Header",
    "Product",
    "ProductIdentifier",
    "DescriptiveDetail",
    "TitleDetail",
    "TitleElement",
    "Collection",
    "Contributor",
    "Extent",
    "Language",
    "Subject",
    "CollateralDetail",
    "TextContent",
    "OtherText",
    "PublishingDetail",
    "Imprint",
    "Publisher",
    "PublishingDate",
    "ProductSupply",
    "SupplyDetail",
    "Title",
    "Series",
    "Sender",
    "RelatedMaterial",
    "RelatedProduct",
]
SHORT_TAGS.update({name.lower(): name for name in _CONTAINERS})


def normalise_tags(element) -> None:
    """Rename every element to its reference name without namespace, in place."""
    if element.tag == "Product":
        return  # reference tags without namespace: nothing to do
    short = SHORT_TAGS
    for el in element.iter(etree.Element):
        name = el.tag.rsplit("}", 1)[-1]
        el.tag = short.get(name, name)


def first(element, tag: str):
    """``element``'s first child named ``tag``, or None."""
    for child in element.iterchildren(tag):
        return child
    return None


def children(element, tag: str) -> list:
    """``element``'s children named ``tag``, in order."""
    return list(element.iterchildren(tag))


def element_text(element) -> str:
    """The whitespace-normalised text of ``element`` (and of its descendants), or ""."""
    if element is None:
        return ""
    value = "".join(element.itertext()) if len(element) else element.text
    return " ".join(value.split()) if value else ""


def text(element, tag: str) -> str:
    """The whitespace-normalised text of ``element``'s first child named ``tag``, or ""."""
    if element is None:
        return ""
    for child in element.iterchildren(tag):
        value = "".join(child.itertext()) if len(child) else child.text
        return " ".join(value.split()) if value else ""
    return ""


def texts(element, names: frozenset[str]) -> dict[str, str]:
    """The whitespace-normalised texts of ``element``'s first children named in ``names``, in one pass."""
    found = {}
    for child in element:
        tag = child.tag
        if tag in names and tag not in found:
            value = "".join(child.itertext()) if len(child) else child.text
            found[tag] = " ".join(value.split()) if value else ""
    return found


# --- Encoding ---------------------------------------------------------------------

_DECLARATION = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])([A-Za-z0-9._-]+)\2""")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Read this much at a time when checking or converting a file.
_BLOCK = 1 << 20
_SINGLE_BYTE = {"iso8859-1", "cp1252", "iso8859-15", "latin-1"}


@dataclass
class Encoding:
    """How a file is read: the encoding used and, when the declaration was wrong, why."""

    name: str
    warning: str = ""


def _canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _decodes(stream, encoding: str) -> int | None:
    """None when the whole stream decodes in ``encoding``, else the offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    while True:
        block = stream.read(_BLOCK)
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            return offset + max(exc.start, 0)
        if not block:
            return None
        offset += len(block)


def _has_multibyte_utf8(stream) -> bool:
    while block := stream.read(_BLOCK):
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", block):
            return True
    return False


def sniff_encoding(stream) -> Encoding:
    """The encoding to read a seekable binary stream with, trusting its XML declaration only when the bytes agree."""
    head = stream.read(1024)
    stream.seek(0)
    if head.startswith(_BOMS):
        return Encoding("bom")
    match = _DECLARATION.match(head)
    declared_name = match.group(3).decode("ascii") if match else "UTF-8"
    declared = _canonical(declared_name) or "utf-8"
    bad = _decodes(stream, declared)
    stream.seek(0)
    if bad is None:
        if declared in _SINGLE_BYTE and _decodes(stream, "utf-8") is None:
            stream.seek(0)
            if _has_multibyte_utf8(stream):
                stream.seek(0)
                return Encoding(
                    "utf-8",
                    _("encodage déclaré %(declared)s, mais le fichier est en UTF-8 : lu en UTF-8")
                    % {"declared": declared_name},
                )
        stream.seek(0)
        return Encoding(declared)
    for fallback in ("cp1252", "latin-1"):
        if fallback == declared:
            continue
        if _decodes(stream, fallback) is None:
            stream.seek(0)
            label = {"cp1252": "Windows-1252", "latin-1": "ISO-8859-1 (Latin-1)"}[fallback]
            return Encoding(
                fallback,
                _("encodage déclaré %(declared)s, mais l'octet %(offset)s n'en est pas : fichier lu en %(used)s")
                % {"declared": declared_name, "offset": bad, "used": label},
            )
        stream.seek(0)
    return Encoding(declared)  # latin-1 decodes anything: not reached


class Utf8Reader(io.RawIOBase):
    """A binary stream re-encoded to UTF-8 from ``encoding``, its XML declaration saying so."""

    def __init__(self, stream, encoding: str):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.started = False
        self.done = False

    def readable(self):
        return True

    def read(self, size=-1):
        if self.done:
            return b""
        block = self.stream.read(_BLOCK if size is None or size < 0 else max(size, 4096))
        out = self.decoder.decode(block, final=not block).encode("utf-8")
        if not block:
            self.done = True
        if not self.started:
            self.started = True
            out = _DECLARATION.sub(rb"\g<1>\g<2>UTF-8\g<2>", out, count=1)
        return out
