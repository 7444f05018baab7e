"""Reading shops' stock files as real shop software exports them.

Separators ``;``, ``,``, tab or ``|``; UTF-8 (with or without BOM), UTF-16
or Windows-1252; French or English headers in any case and accents.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from portal.textfiles import TextFileError, decode, detect_delimiter, normalize_header

from ..exceptions import InvalidISBN
from ..isbn import normalize_isbn

#: Normalised header → column meaning. Headers are compared without accents,
#: case, spaces or punctuation: "Qté" → "qte", "Prix TTC" → "prixttc".
HEADER_ALIASES = {
    "isbn": {
        "ean", "ean13", "codeean", "gencod", "gencode", "codegencod", "isbn", "isbn13", "isbn10",
        "codeisbn", "gtin", "gtin13", "codebarre", "codebarres", "codeabarres", "eanisbn",
    },
    "quantity": {
        "qte", "qt", "qty", "quantite", "quantity", "stock", "qtestock", "stockreel", "qtedispo",
        "stockdisponible", "enstock", "exemplaires", "nbex", "nbexemplaires",
    },
    "price": {
        "prix", "prixttc", "prixpublic", "prixpublicttc", "prixdevente", "prixventettc", "pvttc",
        "price", "prixunitaire", "puttc", "ppttc",
    },
    "title": {"titre", "title", "libelle", "designation", "titreouvrage"},
    "author": {"auteur", "auteurs", "author", "authors", "auteurprincipal"},
    "publisher": {"editeur", "editeurs", "publisher", "edition", "editions", "marque"},
}
_ALIAS_TO_COLUMN = {alias: column for column, aliases in HEADER_ALIASES.items() for alias in aliases}
MAX_QUANTITY = 100_000


class StockFileError(TextFileError):
    """The file as a whole cannot be read as a stock file."""


@dataclass
class StockRow:
    line: int
    isbn: str
    quantity: int
    price: Decimal | None = None
    title: str = ""
    author: str = ""
    publisher: str = ""


@dataclass
class ParsedStockFile:
    encoding: str
    delimiter: str
    columns: dict[str, int]
    rows: list[StockRow] = field(default_factory=list)
    #: Rows read (header and blank lines excluded), good or bad.
    rows_read: int = 0
    #: [{"line", "value", "error", "level"}], in line order.
    problems: list[dict] = field(default_factory=list)
    #: ISBNs whose row was unreadable: their current stock is left as it is.
    unreadable_isbns: set[str] = field(default_factory=set)

    @property
    def rejected_count(self):
        return sum(1 for p in self.problems if p["level"] == "error")

    def reject(self, line, value, error):
        self.problems.append({"line": line, "value": value, "error": str(error), "level": "error"})

    def warn(self, line, value, error):
        self.problems.append({"line": line, "value": value, "error": str(error), "level": "warning"})


def map_columns(header: list[str]) -> dict[str, int]:
    columns = {}
    for index, name in enumerate(header):
        column = _ALIAS_TO_COLUMN.get(normalize_header(name))
        if column and column not in columns:
            columns[column] = index
    return columns


def parse_quantity(raw: str) -> int:
    value = raw.strip().replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"[0-9]+([.,]0+)?", value):
        quantity = int(re.split(r"[.,]", value)[0])
        if quantity <= MAX_QUANTITY:
            return quantity
        raise ValueError(_("quantité invraisemblable (%(value)s)") % {"value": raw})
    if re.fullmatch(r"-[0-9]+([.,]0+)?", value):
        raise ValueError(_("quantité négative (%(value)s)") % {"value": raw})
    if not value:
        raise ValueError(_("quantité manquante"))
    raise ValueError(_("quantité illisible (%(value)s)") % {"value": raw})


def parse_price(raw: str) -> Decimal | None:
    value = re.sub(r"[\s\u00a0€]|EUR", "", raw.strip(), flags=re.IGNORECASE)
    if not value:
        return None
    if "," in value and "." in value:  # 1.234,56 or 1,234.56
        value = value.replace(".", "").replace(",", ".") if value.rfind(",") > value.rfind(".") else value.replace(",", "")
    value = value.replace(",", ".")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ValueError(_("prix illisible (%(value)s), prix précédent conservé") % {"value": raw}) from None
    if price < 0 or price >= Decimal("1000000") or not price.is_finite():
        raise ValueError(_("prix invraisemblable (%(value)s), prix précédent conservé") % {"value": raw})
    return price.quantize(Decimal("0.01"))


def parse_stock_file(data: bytes) -> ParsedStockFile:
    """Read a stock file; raise ``StockFileError`` if it cannot be one."""
    if not data.strip():
        raise StockFileError(_("Le fichier est vide."))
    text, encoding = decode(data)
    text = text.lstrip("\ufeff")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
    except StopIteration:
        raise StockFileError(_("Le fichier est vide.")) from None
    except csv.Error as exc:
        raise StockFileError(_("Ligne d'en-tête illisible : %(error)s") % {"error": exc}) from None

    columns = map_columns(header)
    missing = [name for name in ("isbn", "quantity") if name not in columns]
    if missing:
        raise StockFileError(
            _(
                "Ce n'est pas un fichier de stock : il faut au moins une colonne EAN/ISBN et une colonne "
                "de quantité (Qté, Quantité, Stock). Colonnes trouvées : %(found)s."
            )
            % {"found": ", ".join(h.strip() for h in header if h.strip())[:300] or "—"}
        )

    parsed = ParsedStockFile(encoding=encoding, delimiter=delimiter, columns=columns)
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise StockFileError(
                _("Fichier tronqué ou mal formé à la ligne %(line)s : %(error)s")
                % {"line": previous_end + 1, "error": exc}
            ) from None
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        parsed.rows_read += 1
        _read_row(parsed, line, cells)
    if not parsed.rows_read:
        raise StockFileError(_("Le fichier ne contient aucune ligne de stock après l'en-tête."))
    return parsed


def _cell(cells, columns, name):
    index = columns.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _read_row(parsed: ParsedStockFile, line: int, cells: list[str]) -> None:
    raw_isbn = _cell(cells, parsed.columns, "isbn")
    try:
        isbn = normalize_isbn(raw_isbn)
    except InvalidISBN as exc:
        parsed.reject(line, raw_isbn, _("ISBN invalide : %(reason)s") % {"reason": exc.message})
        return
    try:
        quantity = parse_quantity(_cell(cells, parsed.columns, "quantity"))
    except ValueError as exc:
        parsed.reject(line, raw_isbn, exc)
        parsed.unreadable_isbns.add(isbn)
        return
    price = None
    try:
        price = parse_price(_cell(cells, parsed.columns, "price"))
    except ValueError as exc:
        parsed.warn(line, raw_isbn, exc)
    parsed.rows.append(
        StockRow(
            line=line,
            isbn=isbn,
            quantity=quantity,
            price=price,
            title=_cell(cells, parsed.columns, "title")[:500],
            author=_cell(cells, parsed.columns, "author")[:300],
            publisher=_cell(cells, parsed.columns, "publisher")[:200],
        )
    )
