"""The ONIX import workflow: read a file product by product and write it to the catalogue chunk by chunk."""

import time
from dataclasses import dataclass, field

from django.db import connection, reset_queries, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Book, Contributor, FormLink
from ..signals import books_released_send
from ..stock.bulk import bulk_insert, bulk_insert_rows
from ..tasks import index_refresh_later
from . import books as book_fields
from .contributors import contributors_replace
from .reader import OnixDeletion, OnixFileError, OnixHeader, OnixProduct, OnixRecord, iter_records
from .subjects import subjects_ensure, subjects_replace

ONIX = Book.Source.ONIX
#: ONIX products written per transaction.
ONIX_CHUNK = 500


@dataclass
class OnixImportReport:
    """What one ONIX file did to the catalogue."""

    filename: str
    products_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Deletion notices applied: books whose ONIX record was withdrawn, and those removed outright.
    withdrawn: int = 0
    deleted: int = 0
    #: [{"position": 3, "reference": "…", "value": "978…", "error": "…"}, …]
    rejected: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    #: The encoding the file was read in, and what was wrong with its declaration (if anything).
    encoding: str = ""
    file_warnings: list = field(default_factory=list)
    #: Why the file could not be read (to the end), or "".
    file_error: str = ""
    #: Books announced at the publisher (« à paraître ») that the file made available.
    released: int = 0
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

    def note(self, item, error: str, value: str | None = None) -> None:
        self.warnings.append(
            {
                "position": item.position,
                "reference": item.reference,
                "value": item.isbn if value is None else value,
                "error": error,
            }
        )


def books_import_onix(*, source, filename: str = "") -> OnixImportReport:
    """Create, update or withdraw books from an ONIX file (path, bytes or binary file), chunk by chunk.

    A record sent exactly as last applied to its book (same ``onix_digest``) is counted unchanged without
    being read any further.
    """
    started = time.monotonic()
    if not filename and not isinstance(source, bytes):
        filename = str(getattr(source, "name", source))
    report = OnixImportReport(filename=filename)
    header = OnixHeader()
    records: list[OnixRecord] = []
    try:
        for record in iter_records(source, header):
            report.products_read += 1
            records.append(record)
            if len(records) >= ONIX_CHUNK:
                _records_apply(records, header, report, filename)
                records = []
    except OnixFileError as exc:
        report.file_error = exc.message
    except OSError as exc:
        report.file_error = _("fichier illisible : %(error)s") % {"error": exc}
    if records:
        _records_apply(records, header, report, filename)
    report.encoding, report.file_warnings = header.encoding, header.warnings
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


def _records_apply(records: list[OnixRecord], header: OnixHeader, report: OnixImportReport, filename: str) -> None:
    """Count the records already applied as they are, read the others and write them as one chunk."""
    digests = [record.digest for record in records]
    known = dict(Book.objects.filter(onix_digest__in=set(digests)).values_list("onix_digest", "isbn"))
    batch: dict[str, OnixProduct | OnixDeletion] = {}
    skipped: set[str] = set()  # ISBNs counted unchanged in this chunk
    duplicate = _("ISBN déjà présent plus haut dans le fichier : cette notice le remplace")
    for record, digest in zip(records, digests, strict=True):
        if digest in known:
            isbn = known[digest]
            if isbn in batch or isbn in skipped:  # the later record wins, and it is the one applied last time
                batch.pop(isbn, None)
                report.warnings.append(
                    {"position": record.position, "reference": "", "value": isbn, "error": duplicate}
                )
            if isbn not in skipped:
                skipped.add(isbn)
                report.unchanged += 1
                report.isbns.add(isbn)
            continue
        item = record.parse(header)
        if not isinstance(item, (OnixProduct, OnixDeletion)):
            report.rejected.append(
                {"position": item.position, "reference": item.reference, "value": item.value, "error": item.error}
            )
            continue
        for warning in item.warnings:
            report.note(item, warning)
        if item.isbn in batch or item.isbn in skipped:
            report.note(item, duplicate)
        if item.isbn in skipped:
            skipped.discard(item.isbn)
            report.unchanged -= 1
        if isinstance(item, OnixProduct):
            item.digest = digest
        batch[item.isbn] = item
    if batch:
        _chunk_apply(batch, report, _origin(header, filename))


def _origin(header: OnixHeader, filename: str) -> dict:
    origin = {"source": str(ONIX), "file": filename.rsplit("/", 1)[-1][:120], "at": timezone.now().isoformat()}
    if header.sender:
        origin["sender"] = header.sender[:120]
    return origin


def _chunk_apply(batch: dict, report: OnixImportReport, origin: dict) -> None:
    """Write one chunk: book fields, then contributors, subjects and other forms (replaced, not merged)."""
    with transaction.atomic():
        existing = {b.isbn: b for b in Book.objects.filter(isbn__in=list(batch))}
        deletions = [item for item in batch.values() if isinstance(item, OnixDeletion)]
        items = {isbn: item for isbn, item in batch.items() if isinstance(item, OnixProduct)}
        touched = _withdraw(deletions, existing, report, origin)

        provenance_before = {isbn: dict(b.provenance) for isbn, b in existing.items()}
        availability_before = {b.pk: b.availability for b in existing.values()}
        new_books, old_books, changed, changed_fields, redigested = [], [], set(), set(), set()
        for isbn, item in items.items():
            book = existing.get(isbn)
            if book is None:
                book = Book(isbn=isbn, title="")
                new_books.append(book)
                # Saved with the row: the writers below only touch the rows of existing books.
                for name in ("contributors", "subjects"):
                    if getattr(item, name):
                        book.provenance[name] = origin
            else:
                old_books.append(book)
            if fields := book.apply_metadata(item.book_values(), ONIX, origin=origin):
                changed_fields.update(fields)
                if book.pk:
                    changed.add(book.pk)
            if book.onix_digest != item.digest:
                book.onix_digest = item.digest
                redigested.add(book.pk)
        _create(new_books)
        books = new_books + old_books
        by_id = {book.pk: items[book.isbn] for book in books}

        subject_ids = subjects_ensure({s for item in items.values() for s in item.subjects})
        new_ids = {b.pk for b in new_books}
        changed |= contributors_replace(
            books, {pk: item.contributors for pk, item in by_id.items()}, origin=origin, new_ids=new_ids
        )
        changed |= subjects_replace(
            books,
            {pk: {subject_ids[s[:2]] for s in item.subjects} for pk, item in by_id.items()},
            origin=origin,
            new_ids=new_ids,
        )
        changed |= _form_links_replace({pk: item.other_forms for pk, item in by_id.items()}, new_ids=new_ids)
        changed -= {b.pk for b in new_books}

        now = timezone.now()
        old_to_save = [
            b for b in old_books if b.pk in changed or b.pk in redigested or b.provenance != provenance_before[b.isbn]
        ]
        for book in old_to_save:
            if book.pk in changed:
                book.updated_at = now
        Book.objects.bulk_update(
            old_to_save, sorted(changed_fields | {"provenance", "updated_at", "onix_digest"}), batch_size=250
        )
        report.released += len(books_released_send(sender=Book, before=availability_before, books=old_books))

        report.isbns.update(items)
        report.created += len(new_books)
        report.updated += len(changed)
        report.unchanged += len(old_books) - len(changed)
        touched |= {b.pk for b in new_books} | changed
        report.book_ids.update(touched)
        index_refresh_later(touched)
    if connection.queries_logged:
        reset_queries()  # DEBUG keeps every query: a 50,000-product feed would grow memory without end


def _create(new_books: list[Book]) -> None:
    if not new_books:
        return
    now = timezone.now()
    for book in new_books:
        book.created_at = book.updated_at = now
    bulk_insert(Book, new_books)
    ids = dict(Book.objects.filter(isbn__in=[b.isbn for b in new_books]).values_list("isbn", "id"))
    for book in new_books:
        book.pk = ids[book.isbn]


def _form_links_replace(wanted: dict[int, list[str]], *, new_ids: set[int]) -> set[int]:
    current: dict[int, set[str]] = {}
    known = [pk for pk in wanted if pk not in new_ids]
    for book_id, isbn in FormLink.objects.filter(book_id__in=known).values_list("book_id", "isbn"):
        current.setdefault(book_id, set()).add(isbn)
    replace = {pk: isbns for pk, isbns in wanted.items() if set(isbns) != current.get(pk, set())}
    FormLink.objects.filter(book_id__in=[pk for pk in replace if pk not in new_ids]).delete()
    bulk_insert_rows(
        FormLink._meta.db_table, ["book_id", "isbn"], [(pk, isbn) for pk, isbns in replace.items() for isbn in isbns]
    )
    return set(replace)


def _withdraw(
    deletions: list[OnixDeletion], existing: dict[str, Book], report: OnixImportReport, origin: dict
) -> set[int]:
    """Apply deletion notices: a book no shop holds or reserved goes; otherwise its ONIX fields are withdrawn."""
    found = [existing.pop(item.isbn) for item in deletions if item.isbn in existing]
    for item in deletions:
        if all(book.isbn != item.isbn for book in found):
            report.note(item, _("notice de suppression d'un livre absent du catalogue : ignorée"))
    if not found:
        return set()
    ids = [book.pk for book in found]
    kept = set(Book.objects.filter(pk__in=ids, stock_lines__isnull=False).values_list("pk", flat=True))
    kept |= set(Book.objects.filter(pk__in=ids, reservations__isnull=False).values_list("pk", flat=True))
    kept |= {
        book.pk
        for book in found
        if any(book.provenance_of(name).get("source") not in (ONIX, None) for name in ("title", "contributors"))
    }
    gone = [pk for pk in ids if pk not in kept]
    Book.objects.filter(pk__in=gone).delete()
    report.deleted += len(gone)
    withdrawn = [book for book in found if book.pk in kept]
    defaults = {name: Book._meta.get_field(name).get_default() for name in book_fields.FIELDS}
    for book in withdrawn:
        for name in [*book_fields.FIELDS, "contributors", "subjects"]:
            if book.provenance_of(name).get("source") != ONIX:
                continue
            if name == "title":  # the page keeps a heading until a shop file or staff gives one
                book.provenance[name] = {**origin, "withdrawn": True}
                continue
            book.provenance.pop(name)
            if name == "contributors":
                Contributor.objects.filter(book=book).delete()
            elif name == "subjects":
                book.subjects.clear()
            else:
                setattr(book, name, defaults[name])
        book.onix_digest = ""  # the same record sent again is applied again
        book.updated_at = timezone.now()
    FormLink.objects.filter(book__in=withdrawn).delete()
    Book.objects.bulk_update(withdrawn, [*book_fields.FIELDS, "provenance", "updated_at", "onix_digest"])
    report.withdrawn += len(withdrawn)
    return {book.pk for book in withdrawn} | set(gone)
