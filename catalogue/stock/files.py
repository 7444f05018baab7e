"""Reading shops' stock files as real shop software exports them.

Separators ``;``, ``,``, tab or ``|``; UTF-8 (with or without BOM), UTF-16,
UTF-32 or Windows-1252; French or English headers in any case and accents.
Read as a stream (memory does not grow with the file); texts are made single
lines without control characters; the report keeps the first problems only.
"""

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from django.core.files.base import File
from django.utils.translation import gettext as _

from portal.textfiles import TextFileError, clean_text, detect_delimiter, normalize_header, open_text

from ..exceptions import InvalidISBN
from ..isbn import _ean13_remainder, normalize_isbn
from ..models import StockLine

#: Normalised header → column meaning. Headers are compared without accents,
#: case, spaces or punctuation: "Qté" → "qte", "Prix TTC" → "prixttc".
HEADER_ALIASES = {
    "isbn": {
        "ean",
        "ean13",
        "codeean",
        "gencod",
        "gencode",
        "codegencod",
        "isbn",
        "isbn13",
        "isbn10",
        "codeisbn",
        "gtin",
        "gtin13",
        "codebarre",
        "codebarres",
        "codeabarres",
        "eanisbn",
    },
    "quantity": {
        "qte",
        "qt",
        "qty",
        "quantite",
        "quantity",
        "stock",
        "qtestock",
        "stockreel",
        "qtedispo",
        "stockdisponible",
        "enstock",
        "exemplaires",
        "nbex",
        "nbexemplaires",
    },
    "price": {
        "prix",
        "prixttc",
        "prixpublic",
        "prixpublicttc",
        "prixdevente",
        "prixventettc",
        "pvttc",
        "price",
        "prixunitaire",
        "puttc",
        "ppttc",
    },
    "title": {"titre", "title", "libelle", "designation", "titreouvrage"},
    "author": {"auteur", "auteurs", "author", "authors", "auteurprincipal"},
    "publisher": {"editeur", "editeurs", "publisher", "edition", "editions", "marque"},
}
_ALIAS_TO_COLUMN = {alias: column for column, aliases in HEADER_ALIASES.items() for alias in aliases}
MAX_QUANTITY = 100_000


class StockFileError(TextFileError):
    """The file as a whole cannot be read as a stock file."""


#: Largest price the stock line's column holds (``numeric(8,2)``: 999999.99).
_price_field = StockLine._meta.get_field("price")
MAX_PRICE = Decimal(10) ** (_price_field.max_digits - _price_field.decimal_places) - Decimal("0.01")
#: Longest cell value quoted back in a report.
MAX_REPORTED_VALUE = 60


@dataclass
class StockRow:
    line: int
    isbn: str
    #: None when the row's quantity was unreadable: the ISBN's current stock is left as it is.
    quantity: int | None
    price: Decimal | None = None
    title: str = ""
    author: str = ""
    publisher: str = ""


class ProblemLog:
    """A report that stays small whatever the file: the first ``keep`` problems in full, all of them counted by kind."""

    def __init__(self, keep: int):
        self.keep = keep
        #: [{"line", "value", "error", "level", "kind"}], the first ``keep`` in the order met.
        self.kept: list[dict] = []
        #: {"isbn": 12, "quantity": 3, …}: every problem, by kind.
        self.counts: dict[str, int] = {}
        self.errors = 0
        self.warnings = 0

    def add(self, line: int, value: str, error, *, level: str, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if level == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.kept) < self.keep:
            value = clean_text(value)
            if len(value) > MAX_REPORTED_VALUE:
                value = value[: MAX_REPORTED_VALUE - 1] + "…"
            self.kept.append({"line": line, "value": value, "error": str(error), "level": level, "kind": kind})

    def reject(self, line, value, error, *, kind):
        self.add(line, value, error, level="error", kind=kind)

    def warn(self, line, value, error, *, kind):
        self.add(line, value, error, level="warning", kind=kind)

    @property
    def left_out(self) -> int:
        return self.errors + self.warnings - len(self.kept)


def map_columns(header: list[str]) -> dict[str, int]:
    columns = {}
    for index, name in enumerate(header):
        column = _ALIAS_TO_COLUMN.get(normalize_header(name))
        if column and column not in columns:
            columns[column] = index
    return columns


_QUANTITY = re.compile(r"[0-9]{1,9}([.,]0+)?")


def parse_quantity(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) <= MAX_QUANTITY:
        return int(raw)  # the common case first
    value = raw.strip().replace("\u00a0", "").replace(" ", "")
    if _QUANTITY.fullmatch(value):
        quantity = int(re.split(r"[.,]", value)[0])
        if quantity <= MAX_QUANTITY:
            return quantity
        raise ValueError(_("quantité invraisemblable (%(value)s)") % {"value": raw})
    if re.fullmatch(r"-[0-9]+([.,]0+)?", value):
        raise ValueError(_("quantité négative (%(value)s)") % {"value": raw})
    if not value:
        raise ValueError(_("quantité manquante"))
    raise ValueError(_("quantité illisible (%(value)s)") % {"value": raw[:MAX_REPORTED_VALUE]})


_PRICE = re.compile(r"[0-9]{1,12}([.,][0-9]{1,6})?")


def parse_price(raw: str) -> Decimal | None:
    """A price in euros, to the cent; ``ValueError`` unless finite, not negative and within the column's range."""
    value = raw if _PRICE.fullmatch(raw) else re.sub(r"[\s\u00a0€]|EUR", "", raw.strip(), flags=re.IGNORECASE)
    if not value:
        return None
    if "," in value and "." in value:  # 1.234,56 or 1,234.56
        value = (
            value.replace(".", "").replace(",", ".") if value.rfind(",") > value.rfind(".") else value.replace(",", "")
        )
    if value.startswith("-") and _PRICE.fullmatch(value[1:]):
        raise ValueError(_("prix invraisemblable (%(value)s), prix précédent conservé") % {"value": raw})
    # Plain digits only: Decimal() would also take "NaN", "Infinity", "1e9" or Unicode digits.
    if not _PRICE.fullmatch(value):
        raise ValueError(_("prix illisible (%(value)s), prix précédent conservé") % {"value": raw[:MAX_REPORTED_VALUE]})
    price = Decimal(value.replace(",", ".")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if price > MAX_PRICE:
        raise ValueError(_("prix invraisemblable (%(value)s), prix précédent conservé") % {"value": raw})
    return price


#: The columns ``StockFileReader.staged_rows`` reads, in its order.
_FAST_COLUMNS = ("isbn", "quantity", "price", "title", "author", "publisher")
#: A price to the cent, well within the column: the common case, read without ``Decimal``.
_FAST_PRICE = re.compile(r"([0-9]{1,6})(?:[.,]([0-9]{1,2}))?")


def _clean(text: str) -> bool:
    """The text is as ``clean_text`` would leave it (printable, no double or end spaces)."""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def _fast_cents(raw: str) -> int | None:
    found = _FAST_PRICE.fullmatch(raw)
    if found is None:
        return None
    euros, cents = found.groups()
    return int(euros) * 100 + int((cents or "0").ljust(2, "0"))


class StockFileReader:
    """A stock file read as a stream: ``rows()`` yields its rows one by one and logs its problems.

    Raises ``StockFileError`` when the file cannot be a stock file at all
    (from the constructor for its encoding or header, from ``rows()`` when it
    turns out to be cut off or malformed further down).
    """

    def __init__(self, file: BinaryIO, *, problems: ProblemLog):
        while isinstance(file, File):  # the stream itself: a Django File's ``closed`` is read on every line
            file = file.file
        file.seek(0, io.SEEK_END)
        if not file.tell():
            raise StockFileError(_("Le fichier est vide."))
        self.problems = problems
        self.rows_read = 0
        self.text, self.encoding = open_text(file)
        self.delimiter = detect_delimiter(self._first_line())
        self.text.seek(0)
        self.reader = csv.reader(self.text, delimiter=self.delimiter, strict=True)
        try:
            header = next(self.reader)
            while not any(cell.strip() for cell in header):
                header = next(self.reader)
        except StopIteration:
            raise StockFileError(_("Le fichier est vide.")) from None
        except csv.Error as exc:
            raise StockFileError(_("Ligne d'en-tête illisible : %(error)s") % {"error": exc}) from None
        header = [clean_text(name.lstrip("\ufeff")) for name in header]
        self.columns = map_columns(header)
        self._fast_columns = [self.columns.get(name) for name in _FAST_COLUMNS]
        self._last_column = max(i for i in self._fast_columns if i is not None) if self.columns else 0
        missing = [name for name in ("isbn", "quantity") if name not in self.columns]
        if missing:
            raise StockFileError(
                _(
                    "Ce n'est pas un fichier de stock : il faut au moins une colonne EAN/ISBN et une colonne "
                    "de quantité (Qté, Quantité, Stock). Colonnes trouvées : %(found)s."
                )
                % {"found": ", ".join(h for h in header if h)[:300] or "—"}
            )

    def _first_line(self) -> str:
        while True:
            line = self.text.readline(64 * 1024)
            if not line or line.strip():
                return line

    def rows(self) -> Iterator[StockRow]:
        """The readable rows, one by one."""
        return self._rows(self._read_row)

    def staged_rows(self) -> Iterator[tuple]:
        """The readable rows as the import stages them: (line, ISBN, quantity, price in cents, title, author, publisher).

        The same values as ``rows()``; a row of clean cells (an ISBN-13 without
        separators, digits for the quantity, a price to the cent, printable
        texts) is read without building its ``StockRow``.
        """
        return self._rows(self._staged_row)

    def _rows(self, read: Callable[[int, list[str]], object]) -> Iterator:
        previous_end = self.reader.line_num
        while True:
            try:
                cells = next(self.reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise StockFileError(
                    _("Fichier tronqué ou mal formé à la ligne %(line)s : %(error)s")
                    % {"line": previous_end + 1, "error": exc}
                ) from None
            line, previous_end = previous_end + 1, self.reader.line_num
            if not any(map(str.strip, cells)):
                continue
            self.rows_read += 1
            row = read(line, cells)
            if row is not None:
                yield row
        if not self.rows_read:
            raise StockFileError(_("Le fichier ne contient aucune ligne de stock après l'en-tête."))

    def _staged_row(self, line: int, cells: list[str]) -> tuple | None:
        if len(cells) > self._last_column:
            isbn_at, quantity_at, price_at, title_at, author_at, publisher_at = self._fast_columns
            isbn, quantity = cells[isbn_at], cells[quantity_at]
            price = "" if price_at is None else cells[price_at]
            title = "" if title_at is None else cells[title_at]
            author = "" if author_at is None else cells[author_at]
            publisher = "" if publisher_at is None else cells[publisher_at]
            if (
                len(isbn) == 13
                and isbn.isascii()
                and isbn.isdigit()
                and isbn.startswith(("978", "979"))
                and not _ean13_remainder(isbn)
                and quantity.isascii()
                and quantity.isdigit()
                and len(quantity) <= 6
                and int(quantity) <= MAX_QUANTITY
                and (not price or (cents := _fast_cents(price)) is not None)
                and _clean(title)
                and _clean(author)
                and _clean(publisher)
            ):
                return (line, isbn, int(quantity), cents if price else None, title[:500], author[:300], publisher[:200])
        row = self._read_row(line, cells)
        if row is None:
            return None
        price = None if row.price is None else int(row.price * 100)
        return (row.line, row.isbn, row.quantity, price, row.title, row.author, row.publisher)

    def _cell(self, cells, name):
        index = self.columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def _read_row(self, line: int, cells: list[str]) -> StockRow | None:
        raw_isbn = self._cell(cells, "isbn")
        try:
            isbn = normalize_isbn(raw_isbn)
        except InvalidISBN as exc:
            self.problems.reject(line, raw_isbn, _("ISBN invalide : %(reason)s") % {"reason": exc.message}, kind="isbn")
            return None
        try:
            quantity = parse_quantity(self._cell(cells, "quantity"))
        except ValueError as exc:
            self.problems.reject(line, raw_isbn, exc, kind="quantity")
            return StockRow(line=line, isbn=isbn, quantity=None)
        price = None
        try:
            price = parse_price(self._cell(cells, "price"))
        except ValueError as exc:
            self.problems.warn(line, raw_isbn, exc, kind="price")
        return StockRow(
            line=line,
            isbn=isbn,
            quantity=quantity,
            price=price,
            title=clean_text(self._cell(cells, "title"))[:500],
            author=clean_text(self._cell(cells, "author"))[:300],
            publisher=clean_text(self._cell(cells, "publisher"))[:200],
        )
