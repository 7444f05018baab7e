"""Book metadata from ONIX feeds: create or update books chunk by chunk."""

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Book, Contributor, Subject
from ..tasks import index_refresh_later
from .onix import OnixFileError, OnixProduct, iter_onix


@dataclass
class OnixImportReport:
    """What one ONIX file did to the catalogue."""

    filename: str
    products_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: [{"position": 3, "reference": "…", "value": "978…", "error": "…"}, …]
    rejected: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    #: Why the file could not be read (to the end), or "".
    file_error: str = ""
    #: Books created or changed.
    book_ids: set = field(default_factory=set)
    #: Every ISBN the file described, changed or not.
    isbns: set = field(default_factory=set)
    duration_ms: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def failed(self) -> bool:
        """The file could not be read, at least not to its end."""
        return bool(self.file_error)


#: ONIX products written per transaction.
ONIX_CHUNK = 500


def books_import_onix(*, source, filename: str = "") -> OnixImportReport:
    """Create or update books from an ONIX file (path, bytes or binary file), chunk by chunk."""
    started = time.monotonic()
    if not filename and not isinstance(source, bytes):
        filename = str(getattr(source, "name", source))
    report = OnixImportReport(filename=filename)
    batch: dict[str, OnixProduct] = {}
    try:
        for item in iter_onix(source):
            report.products_read += 1
            if not isinstance(item, OnixProduct):
                report.rejected.append(
                    {"position": item.position, "reference": item.reference, "value": item.value, "error": item.error}
                )
                continue
            for warning in item.warnings:
                report.warnings.append({"position": item.position, "reference": item.reference, "value": item.isbn, "error": warning})
            if item.isbn in batch:
                report.warnings.append(
                    {"position": item.position, "reference": item.reference, "value": item.isbn,
                     "error": _("ISBN déjà présent plus haut dans le fichier : cette notice le remplace")}
                )
            batch[item.isbn] = item
            if len(batch) >= ONIX_CHUNK:
                _onix_apply(batch, report)
                batch = {}
    except OnixFileError as exc:
        report.file_error = exc.message
    except OSError as exc:
        report.file_error = _("fichier illisible : %(error)s") % {"error": exc}
    if batch:
        _onix_apply(batch, report)
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


def _onix_apply(batch: dict, report: OnixImportReport) -> None:
    """Write one chunk of ONIX products; contributors and subjects are replaced, not merged."""
    onix = Book.Source.ONIX

    def onix_may_set(book, name):
        return Book.SOURCE_RANK.get(book.provenance.get(name), 0) <= Book.SOURCE_RANK[onix]

    with transaction.atomic():
        existing = {b.isbn: b for b in Book.objects.filter(isbn__in=list(batch))}
        provenance_before = {isbn: dict(b.provenance) for isbn, b in existing.items()}
        new_books, old_books, changed, changed_fields = [], [], set(), set()
        for isbn, item in batch.items():
            book = existing.get(isbn)
            if book is None:
                book = Book(isbn=isbn, title="")
                new_books.append(book)
            else:
                old_books.append(book)
            fields = book.apply_metadata(item.book_values(), onix)
            if fields and book.pk:
                changed.add(isbn)
                changed_fields.update(fields)
        Book.objects.bulk_create(new_books)
        if new_books and new_books[0].pk is None:  # backends that do not return ids
            ids = dict(Book.objects.filter(isbn__in=[b.isbn for b in new_books]).values_list("isbn", "id"))
            for book in new_books:
                book.pk = ids[book.isbn]
        books = new_books + old_books

        # Subjects: make sure every one exists, then compare what each book has.
        wanted = {s[:2]: s[2] for item in batch.values() for s in item.subjects}
        subject_ids = {}
        if wanted:
            Subject.objects.bulk_create(
                [Subject(scheme=scheme, code=code, name=name[:200]) for (scheme, code), name in wanted.items()],
                ignore_conflicts=True,
            )
            for subject in Subject.objects.filter(code__in={code for _scheme, code in wanted}):
                subject_ids[(subject.scheme, subject.code)] = subject.pk
        through = Book.subjects.through
        current_subjects, current_people = {}, {}
        old_ids = [b.pk for b in old_books]
        for book_id, subject_id in through.objects.filter(book_id__in=old_ids).values_list("book_id", "subject_id"):
            current_subjects.setdefault(book_id, set()).add(subject_id)
        for book_id, name, role in Contributor.objects.filter(book_id__in=old_ids).values_list("book_id", "name", "role"):
            current_people.setdefault(book_id, []).append((name, role))

        people_to_replace, subjects_to_replace = [], []
        for book in books:
            item = batch[book.isbn]
            people = [(name, role) for name, role in item.contributors]
            if people and onix_may_set(book, "contributors"):
                book.provenance["contributors"] = onix
                if current_people.get(book.pk, []) != people:
                    people_to_replace.append(book)
            subject_set = {subject_ids[s[:2]] for s in item.subjects}
            if subject_set and onix_may_set(book, "subjects"):
                book.provenance["subjects"] = onix
                if current_subjects.get(book.pk, set()) != subject_set:
                    subjects_to_replace.append(book)
        changed |= {b.isbn for b in people_to_replace + subjects_to_replace if b in old_books}
        now = timezone.now()
        for book in old_books:
            if book.isbn in changed:
                book.updated_at = now

        Contributor.objects.filter(book_id__in=[b.pk for b in people_to_replace]).delete()
        Contributor.objects.bulk_create(
            Contributor(book_id=b.pk, name=name, role=role, position=position)
            for b in people_to_replace
            for position, (name, role) in enumerate(batch[b.isbn].contributors)
        )
        through.objects.filter(book_id__in=[b.pk for b in subjects_to_replace]).delete()
        through.objects.bulk_create(
            through(book_id=b.pk, subject_id=subject_id)
            for b in subjects_to_replace
            for subject_id in {subject_ids[s[:2]] for s in batch[b.isbn].subjects}
        )
        to_save = [*new_books, *(b for b in old_books if b.isbn in changed or b.provenance != provenance_before[b.isbn])]
        Book.objects.bulk_update(to_save, sorted(changed_fields | {"provenance", "updated_at"}), batch_size=100)

        report.isbns.update(batch)
        report.created += len(new_books)
        report.updated += len(changed)
        report.unchanged += len(old_books) - len(changed)
        touched = sorted([b.pk for b in new_books] + [b.pk for b in old_books if b.isbn in changed])
        report.book_ids.update(touched)
        index_refresh_later(touched)
