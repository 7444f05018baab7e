"""ISBN normalisation: every book is stored under its ISBN-13."""

import re

from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import ValidationError

from .exceptions import InvalidISBN

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.]")


def normalize_isbn(value: str) -> str:
    """Return the ISBN-13 for an ISBN-10, ISBN-13 or EAN-13 in any usual form.

    Raises ``InvalidISBN`` (with a reason a bookseller can read) when the
    value is not an ISBN or its check digit is wrong.
    """
    if isinstance(value, str) and len(value) == 13 and value.isascii() and value.isdigit():
        if value.startswith(("978", "979")) and not _ean13_remainder(value):
            return value  # the common case first: a stock file of 50,000 lines asks 50,000 times
    raw = _SEPARATORS.sub("", str(value or "")).upper()
    if raw.startswith("ISBN"):
        raw = raw[4:].lstrip(":")
    if not raw:
        raise InvalidISBN(value, "empty")
    if not re.fullmatch(r"[0-9]{9}[0-9X]|[0-9]{13}", raw):
        raise InvalidISBN(value, "format")
    if len(raw) == 13:
        if not raw.startswith(("978", "979")):
            raise InvalidISBN(value, "prefix")
        # The common case, checked inline: stdnum's validation costs ~50 µs,
        # a third of a 50,000-line stock import.
        if _ean13_remainder(raw):
            raise InvalidISBN(value, "checksum")
        return raw
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(raw))
    except ValidationError:
        raise InvalidISBN(value, "checksum") from None


def _ean13_remainder(digits: str) -> int:
    """0 when the 13 digits' check digit is right."""
    return (sum(map(int, digits[::2])) + 3 * sum(map(int, digits[1::2]))) % 10


def hyphenate_isbn(isbn13: str) -> str:
    """ISBN-13 with its standard hyphens, for display."""
    try:
        return stdnum_isbn.format(isbn13)
    except Exception:
        return isbn13
