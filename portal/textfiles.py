"""Reading the CSV files shops and the association send: encodings, separators, headers, reports.

Shared by the stock file (``catalogue.stock.files``) and the members'
spreadsheet (``bookshops.services.shops_import``).
"""

import re
import unicodedata

from django.utils.translation import gettext as _


class TextFileError(Exception):
    """The file as a whole cannot be read as a text (CSV) file."""


def normalize_header(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.strip().lower())
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode())


def decode(data: bytes) -> tuple[str, str]:
    """Return the text and the encoding name of a file's bytes."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TextFileError(_("C'est un classeur Excel, pas un fichier texte : enregistrez-le au format CSV."))
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data:
        raise TextFileError(_("Ce fichier n'est pas un fichier texte (CSV)."))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Windows-1252 decodes any byte but five; those five mean it is not text.
        try:
            return data.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            raise TextFileError(_("Encodage du fichier non reconnu (UTF-8 ou Windows-1252 attendu).")) from None


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ";"


def format_problems(problems: list[dict]) -> list[str]:
    """The per-line report of an import, one line each, for the management commands."""
    return [
        f"  ligne {p['line']}: {'ERREUR' if p['level'] == 'error' else 'avertissement'}: {p['error']} [{p['value']}]"
        for p in problems
    ]
