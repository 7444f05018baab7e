"""ONIX subjects: CLIL (scheme 29) and Thema (93 to 99) codes, named from the shipped tables, and their writing."""

import csv
import functools
from pathlib import Path

from ..models import Book, Subject
from ..stock.bulk import bulk_insert_rows
from .xml import children, texts

DATA = Path(__file__).resolve().parent.parent / "data"
CLIL_FILE = DATA / "themes-clil.csv"
THEMA_FILE = DATA / "thema.csv"
THEMA_SCHEMES = {str(n) for n in range(93, 100)}
CLIL_SCHEME = "29"


@functools.cache
def clil_names() -> dict[str, str]:
    """CLIL subject code → French name, from the shipped table."""
    names = {}
    with CLIL_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter=";"):
            cells = [cell.strip() for cell in row]
            codes = [cell for cell in cells[:-1] if cell]
            if codes and cells[-1]:
                names[codes[0]] = cells[-1]
    return names


@functools.cache
def thema_names() -> dict[str, tuple[str, str]]:
    """Thema code → (French name, English name), from the shipped EDItEUR table."""
    with THEMA_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: (row["fr"] or row["en"], row["en"]) for row in csv.DictReader(handle, delimiter=";")}


def subject_names(scheme: str, code: str, heading: str = "") -> tuple[str, str]:
    """(French name, English name) of a code; the feed's heading, then the code, when the table lacks it."""
    if scheme == Subject.Scheme.THEMA and (names := thema_names().get(code)):
        return names
    if scheme == Subject.Scheme.CLIL and (name := clil_names().get(code)):
        return name, ""
    return heading or code, ""


_SUBJECT = frozenset(["SubjectSchemeIdentifier", "MainSubjectSchemeIdentifier", "SubjectCode", "SubjectHeadingText"])


def read_subjects(body) -> list[tuple[str, str, str]]:
    """[(scheme, code, heading sent), …] of a product, first of each code kept."""
    subjects, seen = [], set()
    for subject in [*children(body, "Subject"), *children(body, "MainSubject")]:
        values = texts(subject, _SUBJECT)
        scheme = values.get("SubjectSchemeIdentifier") or values.get("MainSubjectSchemeIdentifier")
        code = values.get("SubjectCode")
        if not code:
            continue
        if scheme == CLIL_SCHEME:
            key = (Subject.Scheme.CLIL, code)
        elif scheme in THEMA_SCHEMES:
            key = (Subject.Scheme.THEMA, code.upper())
        else:
            continue
        if key not in seen:
            seen.add(key)
            subjects.append((*key, values.get("SubjectHeadingText", "")))
    return subjects


def subjects_ensure(wanted: set[tuple[str, str, str]]) -> dict[tuple[str, str], int]:
    """Create the subjects that do not exist yet, name those still named by their code; {(scheme, code): id}."""
    if not wanted:
        return {}
    headings = {(scheme, code): heading for scheme, code, heading in wanted}
    Subject.objects.bulk_create(
        [
            Subject(scheme=s, code=c, name=subject_names(s, c, h)[0][:200], name_en=subject_names(s, c, h)[1][:200])
            for (s, c), h in headings.items()
        ],
        ignore_conflicts=True,
    )
    ids, renamed = {}, []
    for subject in Subject.objects.filter(code__in={code for _scheme, code in headings}):
        key = (subject.scheme, subject.code)
        if key not in headings:
            continue
        ids[key] = subject.pk
        name, name_en = subject_names(*key, headings[key])
        if (subject.name, subject.name_en) != (name[:200], name_en[:200]) and subject.name in (subject.code, ""):
            subject.name, subject.name_en = name[:200], name_en[:200]
            renamed.append(subject)
    Subject.objects.bulk_update(renamed, ["name", "name_en"])
    return ids


def subjects_replace(
    books: list[Book], wanted: dict[int, set[int]], *, origin: dict, new_ids: set[int] = frozenset()
) -> set[int]:
    """Give each book (that ONIX may change) exactly the subject ids ``wanted[book.pk]``; returns the ids of books changed.

    ``new_ids``: books just created, which have none yet.
    """
    through = Book.subjects.through
    current: dict[int, set[int]] = {}
    known = [b.pk for b in books if b.pk not in new_ids]
    for book_id, subject_id in through.objects.filter(book_id__in=known).values_list("book_id", "subject_id"):
        current.setdefault(book_id, set()).add(subject_id)
    replace = []
    for book in books:
        subject_ids = wanted.get(book.pk)
        if not subject_ids or not book.may_set("subjects", Book.Source.ONIX):
            continue
        differs = current.get(book.pk, set()) != subject_ids
        book.provenance_record("subjects", origin, changed=differs)
        if differs:
            replace.append(book.pk)
    through.objects.filter(book_id__in=[pk for pk in replace if pk not in new_ids]).delete()
    bulk_insert_rows(through._meta.db_table, ["book_id", "subject_id"], [(b, s) for b in replace for s in wanted[b]])
    return set(replace)
