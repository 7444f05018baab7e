"""ONIX contributors: names in the publisher's order, every role of ONIX list 17 mapped to ours, and their writing."""

from ..models import Book, Contributor
from ..stock.bulk import bulk_insert_rows
from .xml import children, element_text, texts

Role = Contributor.Role

#: ONIX list 17 (contributor role) codes that are not their letter's default (see ``role_of``).
ROLES = {
    **dict.fromkeys(
        ["A01", "A02", "A03", "A04", "A05", "A06", "A09", "A10", "A14", "A38", "A42", "A45", "A99"], Role.AUTHOR
    ),
    **dict.fromkeys(["A07", "A12", "A34", "A35", "A36", "A39", "A40", "A46", "A47", "A48"], Role.ILLUSTRATOR),
    **dict.fromkeys(["A08", "A13", "A37"], Role.PHOTOGRAPHER),
    **dict.fromkeys(["A15", "A16", "A23", "A24", "A29"], Role.PREFACE),
    **dict.fromkeys(["A19", "A22"], Role.AFTERWORD),
    **dict.fromkeys(["B02", "B03", "B04", "B05", "B07", "B22"], Role.ADAPTER),
    **dict.fromkeys(["B06", "B08", "B10"], Role.TRANSLATOR),
    **dict.fromkeys(["E03", "E07"], Role.NARRATOR),
}
#: A code not listed above takes its letter's role: B (editorial) → editor; A, C, D, E, F, Z… → other.
LETTER_DEFAULT = {"B": Role.EDITOR}


def role_of(code: str) -> str:
    return ROLES.get(code) or LETTER_DEFAULT.get(code[:1], Role.OTHER)


_NAMES = frozenset(
    ["PersonName", "NamesBeforeKey", "KeyNames", "PersonNameInverted", "CorporateName", "SequenceNumber"]
)


def _name(values: dict[str, str]) -> str:
    name = values.get("PersonName")
    if not name:
        name = " ".join(filter(None, [values.get("NamesBeforeKey"), values.get("KeyNames")]))
    if not name:
        inverted = values.get("PersonNameInverted")
        name = " ".join(reversed([p.strip() for p in inverted.split(",", 1)])) if inverted else ""
    return name or values.get("CorporateName", "")


def read_contributors(body) -> list[tuple[str, str]]:
    """[(name, role), …] in the publisher's order; one entry per role a person holds."""
    people = []
    for index, contributor in enumerate(children(body, "Contributor")):
        values = texts(contributor, _NAMES)
        name = _name(values)[:300]
        if not name:
            continue
        codes = [element_text(r) for r in children(contributor, "ContributorRole")] or [""]
        try:
            sequence = int(values.get("SequenceNumber", ""))
        except ValueError:
            sequence = index + 1
        for role in dict.fromkeys(role_of(code) for code in codes):
            people.append((sequence, index, name, role))
    people.sort()
    return [(name, role) for _seq, _index, name, role in people]


def contributors_replace(
    books: list[Book], wanted: dict[int, list[tuple[str, str]]], *, origin: dict, new_ids: set[int] = frozenset()
) -> set[int]:
    """Replace the contributors of each book ONIX may change by ``wanted[book.pk]``; returns the ids of books changed.

    ``new_ids``: books just created, which have none yet.
    """
    current: dict[int, list[tuple[str, str]]] = {}
    known = [b.pk for b in books if b.pk not in new_ids]
    for book_id, name, role in Contributor.objects.filter(book_id__in=known).values_list("book_id", "name", "role"):
        current.setdefault(book_id, []).append((name, role))
    replace = []
    for book in books:
        people = wanted.get(book.pk)
        if not people or not book.may_set("contributors", Book.Source.ONIX):
            continue
        differs = current.get(book.pk, []) != people
        book.provenance_record("contributors", origin, changed=differs)
        if differs:
            replace.append(book.pk)
    Contributor.objects.filter(book_id__in=[pk for pk in replace if pk not in new_ids]).delete()
    bulk_insert_rows(
        Contributor._meta.db_table,
        ["book_id", "name", "role", "position"],
        [
            (book_id, name, role, position)
            for book_id in replace
            for position, (name, role) in enumerate(wanted[book_id])
        ],
    )
    return set(replace)
