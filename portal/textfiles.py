"""Reading the CSV files shops and the association send: encodings, separators, headers, reports.

Shared by the stock file (``catalogue.stock.files``) and the members'
spreadsheet (``bookshops.services.shops_import``). Files are read as streams:
the encoding is decided in one pass over the bytes, then the text is decoded
as it is read, so a file never sits in memory whole.
"""

import codecs
import io
import re
import unicodedata
from typing import BinaryIO

from django.utils.translation import gettext as _

#: Bytes read at a time when checking a file's encoding.
READ_CHUNK = 1024 * 1024
#: BOM → codec; UTF-32's BOMs start like UTF-16's, so they are tried first.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32", 4),
    (codecs.BOM_UTF32_BE, "utf-32", 4),
    (codecs.BOM_UTF8, "utf-8-sig", 1),
    (codecs.BOM_UTF16_LE, "utf-16", 2),
    (codecs.BOM_UTF16_BE, "utf-16", 2),
]
#: The five bytes Windows-1252 leaves undefined: a file holding one is not Windows-1252 text.
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class TextFileError(Exception):
    """The file as a whole cannot be read as a text (CSV) file."""


def normalize_header(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.strip().lower())
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode())


def clean_text(value: str) -> str:
    """One line of text: control characters and runs of white space become one space, ends stripped."""
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value  # the common case, already clean (control characters and other spaces are not printable)
    return " ".join(_CONTROL.sub(" ", value).split())


def detect_encoding(file: BinaryIO) -> str:
    """The encoding of a binary file, read through once in chunks (the file is left at its start).

    UTF-32, UTF-16 and UTF-8 are recognised by their BOM, UTF-8 without one by
    decoding the whole file; anything else is Windows-1252 unless it holds a
    byte that cannot be text.
    """
    file.seek(0)
    head = file.read(4)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TextFileError(_("C'est un classeur Excel, pas un fichier texte : enregistrez-le au format CSV."))
    bom = next(((codec, unit) for mark, codec, unit in _BOMS if head.startswith(mark)), None)
    file.seek(0)
    candidates = [bom[0]] if bom else ["utf-8", "windows-1252"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            while chunk := file.read(READ_CHUNK):
                if encoding in ("utf-8", "windows-1252") and b"\x00" in chunk:
                    raise TextFileError(_("Ce fichier n'est pas un fichier texte (CSV)."))
                if encoding == "windows-1252" and _NOT_CP1252.search(chunk):
                    raise UnicodeDecodeError(encoding, chunk, 0, 1, "undefined byte")
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            file.seek(0)
            if bom:
                raise TextFileError(
                    _("Fichier %(encoding)s incomplet ou abîmé (octets en trop ou manquants) : réexportez-le.")
                    % {"encoding": bom[0].upper()}
                ) from None
            continue
        file.seek(0)
        return encoding
    raise TextFileError(_("Encodage du fichier non reconnu (UTF-8 ou Windows-1252 attendu)."))


def open_text(file: BinaryIO) -> tuple[io.TextIOWrapper, str]:
    """A text stream over a binary file (universal newlines left to the csv module), and its encoding."""
    encoding = detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    return text, "utf-8-sig" if encoding == "utf-8-sig" else encoding


def decode(data: bytes) -> tuple[str, str]:
    """Return the text and the encoding name of a (small) file's bytes."""
    encoding = detect_encoding(io.BytesIO(data))
    return data.decode(encoding), encoding


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
