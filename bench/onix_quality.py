#!/usr/bin/env python
"""Per-field quality of the ONIX import: correct / missing / wrong, against a truth read from the XML here.

Each real feed of tests/data/onix (and /work/shared/data/onix when present; files
with the same bytes counted once) is imported alone into an empty catalogue with
``books_import_onix``; then every product of the file is read again, independently,
with plain lxml in this script (its own short-tag table, its own rules, none of the
portal's reader), and each field of the stored book is compared with it:

- correct: the book holds the value the XML gives;
- missing: the XML gives a value, the book holds none (or the field is not kept);
- wrong: the book holds another value (or one the XML does not give).

Products without an ISBN, deletion notices and files that are not ONIX are left out
(and counted). Writes bench/onix_quality.md.

    .venv/bin/python bench/onix_quality.py        (a scratch SQLite database; DATABASE_URL to choose another)
"""

import datetime
import hashlib
import html
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FEEDS = [ROOT / "tests" / "data" / "onix", Path("/work/shared/data/onix")]
SCRATCH = tempfile.mkdtemp(prefix="onix_quality_")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{SCRATCH}/quality.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

FIELDS = [
    "title",
    "subtitle",
    "contributors (name and role)",
    "publisher",
    "imprint",
    "collection",
    "publication date",
    "pages",
    "language",
    "CLIL subjects",
    "Thema subjects",
    "product form",
    "availability",
    "publisher's price",
    "summary",
]
#: Fields the catalogue does not keep: a value in the XML counts as missing (the table says so).
NOT_KEPT = {"imprint", "publisher's price"}

# --- The truth: plain lxml, this script's own reading of ONIX ---------------------------------

#: Short tag → reference name, for the elements read below (ONIX 3.0 and 2.1 code lists).
SHORT = {
    "product": "Product",
    "a002": "NotificationType",
    "productidentifier": "ProductIdentifier",
    "b221": "ProductIDType",
    "b244": "IDValue",
    "b004": "ISBN",
    "b005": "EAN13",
    "descriptivedetail": "DescriptiveDetail",
    "b012": "ProductForm",
    "titledetail": "TitleDetail",
    "b202": "TitleType",
    "titleelement": "TitleElement",
    "x409": "TitleElementLevel",
    "b203": "TitleText",
    "b030": "TitlePrefix",
    "b031": "TitleWithoutPrefix",
    "b029": "Subtitle",
    "title": "Title",
    "b028": "DistinctiveTitle",
    "collection": "Collection",
    "series": "Series",
    "b018": "TitleOfSeries",
    "contributor": "Contributor",
    "b035": "ContributorRole",
    "b036": "PersonName",
    "b037": "PersonNameInverted",
    "b039": "NamesBeforeKey",
    "b040": "KeyNames",
    "b047": "CorporateName",
    "extent": "Extent",
    "b218": "ExtentType",
    "b219": "ExtentValue",
    "b220": "ExtentUnit",
    "b061": "NumberOfPages",
    "language": "Language",
    "b253": "LanguageRole",
    "b252": "LanguageCode",
    "subject": "Subject",
    "mainsubject": "MainSubject",
    "b067": "SubjectSchemeIdentifier",
    "b191": "MainSubjectSchemeIdentifier",
    "b069": "SubjectCode",
    "collateraldetail": "CollateralDetail",
    "textcontent": "TextContent",
    "othertext": "OtherText",
    "x426": "TextType",
    "d102": "TextTypeCode",
    "d104": "Text",
    "publishingdetail": "PublishingDetail",
    "imprint": "Imprint",
    "b079": "ImprintName",
    "publisher": "Publisher",
    "b291": "PublishingRole",
    "b081": "PublisherName",
    "b394": "PublishingStatus",
    "publishingdate": "PublishingDate",
    "x448": "PublishingDateRole",
    "b306": "Date",
    "b003": "PublicationDate",
    "productsupply": "ProductSupply",
    "supplydetail": "SupplyDetail",
    "j396": "ProductAvailability",
    "j141": "AvailabilityCode",
    "price": "Price",
    "j151": "PriceAmount",
    "header": "Header",
    "m184": "DefaultLanguageOfText",
}
#: ONIX list 17 codes this script is sure of → the catalogue's role.
ROLE = {
    "A01": "author",
    "A12": "illustrator",
    "A13": "photographer",
    "B06": "translator",
    "B01": "editor",
    "A15": "preface",
    "A19": "afterword",
    "B05": "adapter",
    "E07": "narrator",
}
#: ProductAvailability (list 65) / AvailabilityCode (list 54) codes this script is sure of.
AVAILABILITY = {
    "20": "available",
    "21": "available",
    "IP": "available",
    "10": "forthcoming",
    "NP": "forthcoming",
    "31": "unavailable",
    "40": "out_of_print",
    "OP": "out_of_print",
}


def local(tag) -> str:
    name = etree.QName(tag).localname
    return SHORT.get(name, name)


def kids(element, name: str) -> list:
    return [child for child in element if isinstance(child.tag, str) and local(child.tag) == name]


def value(element, *path: str) -> str:
    for name in path:
        if element is None:
            return ""
        found = kids(element, name)
        element = found[0] if found else None
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def isbn_check(digits: str) -> bool:
    return len(digits) == 13 and sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def to_isbn13(raw: str) -> str:
    digits = re.sub(r"[^0-9Xx]", "", raw)
    if len(digits) == 10:
        body = "978" + digits[:9]
        digits = body + str((10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10)
    return digits if digits.isdigit() and isbn_check(digits) else ""


def truth_isbn(product) -> str:
    ids = {value(i, "ProductIDType"): value(i, "IDValue") for i in kids(product, "ProductIdentifier")}
    for key in ("15", "03", "02"):
        if ids.get(key) and (key != "03" or ids[key].startswith(("978", "979"))) and (isbn := to_isbn13(ids[key])):
            return isbn
    for legacy in ("EAN13", "ISBN"):
        if isbn := to_isbn13(value(product, legacy)):
            return isbn
    return ""


def title_of(element) -> str:
    if title := value(element, "TitleText"):
        return title
    prefix, rest = value(element, "TitlePrefix"), value(element, "TitleWithoutPrefix")
    return (prefix + ("" if prefix.endswith("'") else " ") + rest).strip()


def truth(product, default_language: str) -> dict:
    body = (kids(product, "DescriptiveDetail") or [product])[0]
    publishing = (kids(product, "PublishingDetail") or [product])[0]
    facts = {}
    # Title and subtitle: the distinctive title (type 01), product level (01).
    main = None
    for detail in kids(body, "TitleDetail"):
        if value(detail, "TitleType") == "01":
            for element in kids(detail, "TitleElement"):
                if value(element, "TitleElementLevel") in ("01", ""):
                    main = element
    if main is None:
        for title in kids(body, "Title"):
            if value(title, "TitleType") in ("01", ""):
                main = title
                break
    facts["title"] = title_of(main) if main is not None else value(body, "DistinctiveTitle")
    facts["subtitle"] = value(main, "Subtitle") if main is not None else value(body, "Subtitle")
    # Contributors.
    people = []
    for contributor in kids(body, "Contributor"):
        name = value(contributor, "PersonName") or " ".join(
            filter(None, [value(contributor, "NamesBeforeKey"), value(contributor, "KeyNames")])
        )
        if not name and (inverted := value(contributor, "PersonNameInverted")):
            name = " ".join(reversed([p.strip() for p in inverted.split(",", 1)]))
        name = name or value(contributor, "CorporateName")
        if name:
            for role in kids(contributor, "ContributorRole") or [None]:
                code = " ".join("".join(role.itertext()).split()) if role is not None else ""
                people.append((name, ROLE.get(code)))
    facts["contributors (name and role)"] = people
    # Publisher and imprint.
    publishers = kids(publishing, "Publisher")
    chosen = [p for p in publishers if value(p, "PublishingRole") in ("01", "")] or publishers
    facts["publisher"] = (value(chosen[0], "PublisherName") if chosen else "") or value(publishing, "PublisherName")
    facts["imprint"] = value(publishing, "Imprint", "ImprintName")
    if not facts["publisher"]:
        facts["publisher"] = facts["imprint"]  # the imprint is the only publisher name given
    # Collection: a collection's title, or the product title's level 02 element, or the 2.1 series.
    collection = ""
    for coll in kids(body, "Collection"):
        for detail in kids(coll, "TitleDetail"):
            for element in kids(detail, "TitleElement"):
                if not collection or value(element, "TitleElementLevel") == "02":
                    collection = title_of(element) or collection
        if collection:
            break
    if not collection:
        for detail in kids(body, "TitleDetail"):
            for element in kids(detail, "TitleElement"):
                if value(element, "TitleElementLevel") == "02":
                    collection = collection or title_of(element)
    if not collection:
        for series in kids(body, "Series"):
            collection = collection or value(series, "TitleOfSeries") or value(series, "Title", "TitleText")
    facts["collection"] = collection
    # Publication date (role 01), ONIX 2.1's PublicationDate.
    raw = ""
    for date in kids(publishing, "PublishingDate"):
        if value(date, "PublishingDateRole") == "01":
            raw = value(date, "Date")
    raw = raw or value(product, "PublicationDate")
    digits = re.sub(r"\D", "", raw.split("T")[0])
    digits = digits + "0101"[len(digits) - 4 :] if len(digits) in (4, 6) else digits
    try:
        facts["publication date"] = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        facts["publication date"] = None
    # Pages: main content (00) or its total (11, 07…) in pages (unit 03), or 2.1's NumberOfPages.
    pages = None
    for extent_type in ("00", "11", "08", "07", "05"):
        for extent in kids(body, "Extent"):
            if value(extent, "ExtentType") == extent_type and value(extent, "ExtentUnit") in ("03", ""):
                try:
                    pages = pages or int(float(value(extent, "ExtentValue"))) or None
                except ValueError:
                    pass
    if pages is None and value(body, "NumberOfPages").isdigit():
        pages = int(value(body, "NumberOfPages")) or None
    facts["pages"] = pages
    # Language of the text.
    languages = kids(body, "Language")
    languages = [lang for lang in languages if value(lang, "LanguageRole") == "01"] or languages
    facts["language"] = (value(languages[0], "LanguageCode") if languages else "").lower() or default_language
    # Subjects.
    clil, thema = set(), set()
    for subject in kids(body, "Subject") + kids(body, "MainSubject"):
        scheme = value(subject, "SubjectSchemeIdentifier") or value(subject, "MainSubjectSchemeIdentifier")
        code = value(subject, "SubjectCode")
        if code and scheme == "29":
            clil.add(code)
        elif code and scheme in {str(n) for n in range(93, 100)}:
            thema.add(code.upper())
    facts["CLIL subjects"], facts["Thema subjects"] = clil, thema
    facts["product form"] = value(body, "ProductForm").upper()
    # Availability: a decisive publishing status, else the most hopeful supplier's code.
    status = value(publishing, "PublishingStatus")
    supplies = [e for e in product.iter(etree.Element) if local(e.tag) == "SupplyDetail"]
    codes = {value(s, tag) for s in supplies for tag in ("ProductAvailability", "AvailabilityCode")}
    known = [AVAILABILITY[c] for c in codes if c in AVAILABILITY]
    order = ["available", "unavailable", "forthcoming", "out_of_print"]
    if status in ("02",):
        facts["availability"] = "forthcoming"
    elif status in ("07", "08", "11", "17"):
        facts["availability"] = "out_of_print"
    elif codes - set(AVAILABILITY) - {""}:
        facts["availability"] = "?"  # a code this script does not decide on: not counted
    else:
        facts["availability"] = min(known, key=order.index) if known else None
    prices = [value(p, "PriceAmount") for s in supplies for p in kids(s, "Price")]
    facts["publisher's price"] = next((p for p in prices if p), "")
    # Summary: main description (03), else short description (02) or annotation (01).
    texts = {}
    for container in [*kids(product, "CollateralDetail"), product]:
        for content in kids(container, "TextContent") + kids(container, "OtherText"):
            kind = value(content, "TextType") or value(content, "TextTypeCode")
            text_element = (kids(content, "Text") or [None])[0]
            if text_element is not None:
                raw = (text_element.text or "") + "".join(
                    etree.tostring(child, encoding="unicode", with_tail=True) for child in text_element
                )
                texts.setdefault(kind, raw)
    summary = next((texts[k] for k in ("03", "02", "01") if texts.get(k)), "")
    summary = re.sub(r"<(/?)\w+:", r"<\1", summary)
    summary = html.unescape(summary) if "<" not in summary else summary
    if "<" in summary:  # markup: block elements end a sentence, inline ones do not
        summary = re.sub(r"<(br|p|div|li|h[1-6])\b[^>]*>|</(p|div|li|h[1-6])>", " ", summary, flags=re.I)
        summary = lxml_html.fromstring(f"<div>{summary}</div>").text_content()
    facts["summary"] = " ".join(html.unescape(summary).replace("\xa0", " ").split())
    return facts


def read_file(path: Path):
    """(default language, [(isbn, product element)…] with the last product of an ISBN kept), or None if not ONIX."""
    data = path.read_bytes()
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, huge_tree=True, remove_comments=True))
    except etree.XMLSyntaxError:
        try:  # a declaration that lies about the encoding: the bytes are Windows-1252
            text = data.decode("cp1252")
            text = re.sub(r"^<\?xml[^>]*\?>", "", text)
            root = etree.fromstring(text, etree.XMLParser(resolve_entities=False, huge_tree=True))
        except (etree.XMLSyntaxError, UnicodeDecodeError):
            return None
    if local(root.tag) not in ("ONIXMessage", "ONIXmessage", "onixmessage"):
        return None
    header = (kids(root, "Header") or [None])[0]
    default_language = value(header, "DefaultLanguageOfText").lower() if header is not None else ""
    products = {}
    for product in kids(root, "Product"):
        products.pop(isbn := truth_isbn(product), None)
        products[isbn] = product
    return default_language, products


# --- The portal's values -------------------------------------------------------------------


def stored(book) -> dict:
    return {
        "title": book.title,
        "subtitle": book.subtitle,
        "contributors (name and role)": [(c.name, c.role) for c in book.contributors.all()],
        "publisher": book.publisher,
        "imprint": "",
        "collection": book.collection,
        "publication date": book.published_on,
        "pages": book.page_count,
        "language": book.language,
        "CLIL subjects": {s.code for s in book.subjects.all() if s.scheme == "clil"},
        "Thema subjects": {s.code for s in book.subjects.all() if s.scheme == "thema"},
        "product form": book.product_form_code,
        "availability": None if book.availability == "unknown" else book.availability,
        "publisher's price": "",
        "summary": " ".join(book.summary.split()),
    }


def verdict(name: str, expected, got) -> str:
    """correct / missing / wrong, or "" when the XML gives nothing (and the book holds nothing)."""
    if name == "contributors (name and role)":
        if not expected:
            return "wrong" if got else ""
        if not got:
            return "missing"
        same_people = {n for n, _ in expected} == {n for n, _ in got}
        return "correct" if same_people and all(r is None or (n, r) in got for n, r in expected) else "wrong"
    if name == "availability" and expected == "?":
        return ""
    if expected in (None, "", set()):
        return "wrong" if got not in (None, "", set()) else ""
    if got in (None, "", set()):
        return "missing"
    return "correct" if expected == got else "wrong"


def main():
    import django

    django.setup()
    from django.core.management import call_command

    from catalogue.models import Book
    from catalogue.onix import books_import_onix

    call_command("migrate", verbosity=0)
    files, seen = [], set()
    for folder in FEEDS:
        for path in sorted(folder.rglob("*.xml")) if folder.exists() else []:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append(path)
    counts = {name: Counter() for name in FIELDS}
    wrong_examples, left_out, products, used_files, not_onix = [], Counter(), 0, 0, []
    for path in files:
        read = read_file(path)
        if read is None:
            left_out["files that are not (well-formed) ONIX"] += 1
            not_onix.append(path.name)
            continue
        default_language, by_isbn = read
        Book.objects.all().delete()
        books_import_onix(source=path)
        used = False
        for isbn, product in by_isbn.items():
            if not isbn:
                left_out["products without a valid ISBN"] += 1
                continue
            if value(product, "NotificationType") == "05":
                left_out["deletion notices"] += 1
                continue
            expected = truth(product, default_language)
            if not expected["title"]:
                left_out["products without a title"] += 1
                continue
            book = Book.objects.filter(isbn=isbn).first()
            if book is None:
                left_out["products the import rejected"] += 1
                wrong_examples.append((path.name, isbn, "(book)", "a book", "rejected"))
                continue
            used = True
            products += 1
            got = stored(book)
            for name in FIELDS:
                if name in NOT_KEPT:
                    outcome = "missing" if expected[name] else ""
                else:
                    outcome = verdict(name, expected[name], got[name])
                if outcome:
                    counts[name][outcome] += 1
                if outcome == "wrong":
                    wrong_examples.append((path.name, isbn, name, expected[name], got[name]))
        used_files += used
    lines = [
        "# ONIX import: per-field quality",
        "",
        f"`.venv/bin/python bench/onix_quality.py`, {datetime.date.today():%Y-%m-%d}: {products} products with an ISBN"
        f" and a title in {used_files} files ({len(files)} distinct files read from "
        + ", ".join(f"`{f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}`" for f in FEEDS if f.exists())
        + "), each file imported alone into an empty catalogue by `books_import_onix` and each stored book"
        " compared with the truth read independently from the XML by plain lxml in the script.",
        "",
        "| field | products where the XML gives it | correct | missing | wrong |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in FIELDS:
        c = counts[name]
        total = c["correct"] + c["missing"] + c["wrong"]
        note = " (not kept by the catalogue)" if name in NOT_KEPT else ""
        lines.append(f"| {name}{note} | {total} | {c['correct']} | {c['missing']} | {c['wrong']} |")
    lines += ["", "Left out: " + (", ".join(f"{n} {what}" for what, n in sorted(left_out.items())) or "nothing") + "."]
    if not_onix:
        lines += [
            "",
            "Files not read (a bare `<Product>` or `<Collection>` fragment without `ONIXMessage`, a wrong root, or broken on purpose): "
            + ", ".join(f"`{n}`" for n in not_onix)
            + ".",
        ]
    lines += [
        "",
        '"wrong" also counts a value the book holds that the XML does not give; contributors are right when the'
        " names are those of the XML and every role code the script knows (A01, A12, A13, A15, A19, B01, B05, B06,"
        " E07) gives the catalogue's role; availability is counted only where every supplier code is one the script"
        " knows. Publisher's prices are never copied into the catalogue (shops' prices come with their stock).",
    ]
    if wrong_examples:
        lines += [
            "",
            "## Wrong values",
            "",
            "| file | ISBN | field | XML | catalogue |",
            "| --- | --- | --- | --- | --- |",
        ]
        for file, isbn, name, want, got in wrong_examples[:40]:
            lines.append(f"| {file} | {isbn} | {name} | {str(want)[:80]} | {str(got)[:80]} |")
    out = ROOT / "bench" / "onix_quality.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
