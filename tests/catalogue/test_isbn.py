import csv
from pathlib import Path

import pytest
from stdnum import isbn as stdnum_isbn

from catalogue.exceptions import InvalidISBN
from catalogue.isbn import hyphenate_isbn, normalize_isbn

VECTORS = Path(__file__).parent.parent / "data" / "isbn" / "isbn_test_vectors.csv"


def _vectors(*verdicts):
    with VECTORS.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["expected"] in verdicts]
    assert rows, verdicts
    return [pytest.param(row["value"], id=f"{i}-{row['value']}") for i, row in enumerate(rows)]


def test_vectors_cover_every_verdict():
    with VECTORS.open(encoding="utf-8", newline="") as handle:
        verdicts = {row["expected"] for row in csv.DictReader(handle)}
    assert verdicts == {"valid", "invalid", "check-digit", "extractable", "ambiguous"}


@pytest.mark.parametrize("value", _vectors("valid"))
def test_valid_vectors_normalise_to_isbn13(value):
    isbn13 = normalize_isbn(value)
    # A few vectors carry an "isbn " label that stdnum does not strip itself.
    bare = value.strip().removeprefix("isbn").removeprefix("ISBN")
    assert isbn13 == stdnum_isbn.to_isbn13(stdnum_isbn.validate(bare))
    assert len(isbn13) == 13 and isbn13.isdigit()


@pytest.mark.parametrize("value", _vectors("invalid", "ambiguous", "check-digit", "extractable"))
def test_other_vectors_are_refused(value):
    with pytest.raises(InvalidISBN) as excinfo:
        normalize_isbn(value)
    assert excinfo.value.reason in InvalidISBN.MESSAGES
    assert str(excinfo.value.message)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("", "empty"),
        (None, "empty"),
        ("asd isbn 979-10-90636-07-1 blabla", "format"),
        ("7501031311309", "prefix"),
        ("9780826400001", "checksum"),
    ],
)
def test_refusal_reasons(value, reason):
    with pytest.raises(InvalidISBN) as excinfo:
        normalize_isbn(value)
    assert excinfo.value.reason == reason


@pytest.mark.parametrize(
    "value",
    ["978-2-07-036822-8", "2-07-036822-X", "ISBN 978 2 07 036822 8", "isbn:207036822x", " 9782070368228 "],
)
def test_usual_forms_of_one_isbn(value):
    assert normalize_isbn(value) == "9782070368228"


def test_hyphenate_isbn():
    assert hyphenate_isbn("9782070368228") == "978-2-07-036822-8"
