"""A shop's stock file applied as its whole stock (a snapshot) or as a few lines, all or nothing, with its record.

An import is recorded first (``stock_import_create``: the kept file, status
``pending``), then run (``stock_import_run``, by a worker or by the command):
the file is read as a stream into a temporary table, checked, then applied in
one transaction, page by page of ISBNs, so memory does not grow with the
file. Its lines carry the import's change stamp (``catalogue.stock.changes``).
"""

import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from portal.tasks import enqueue_on_commit
from portal.textfiles import TextFileError

from ..exceptions import StockImportRefused
from ..models import Book, Contributor, IndexRefresh, StockImport, StockLine
from ..search import INDEX_CHUNK
from ..tasks import index_refresh_later, refresh_search_index
from .bulk import bulk_insert, bulk_insert_rows, bulk_upsert, chunked
from .changes import change_stamp
from .files import MAX_QUANTITY, ProblemLog, StockFileReader, StockRow
from .signals import stock_changed

logger = logging.getLogger(__name__)

#: Rows per query when looking up or writing many rows at once.
CHUNK = 2000
#: Rows read from the file between two writes to the temporary table (and two progress reports).
STAGE_BATCH = 5000
STAGING = "stock_import_staging"
_STAGING_COLUMNS = ["line", "isbn", "quantity", "price_cents", "title", "author", "publisher"]
#: Titles zeroed (or that would be) listed in an import's report; its ``zeroed_count`` has them all.
ZEROED_REPORTED = 1000


class _Refusal(Exception):
    def __init__(self, message, *, zeroed=(), reserved=()):
        super().__init__(message)
        self.zeroed, self.reserved = list(zeroed), set(reserved)


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    zeroed: int = 0
    books_created: int = 0


Progress = Callable[[StockImport], None]


def stock_import(
    *,
    shop,
    data: bytes | None = None,
    file: BinaryIO | None = None,
    filename: str = "stock.csv",
    user=None,
    channel: str = StockImport.Channel.COMMAND,
    force: bool = False,
    partial: bool = False,
    hold_check: bool = False,
    progress: Progress | None = None,
) -> StockImport:
    """Record and apply a shop's stock file here and now; raise ``StockImportRefused`` unless applied.

    A snapshot (``partial=False``) is the shop's whole stock: lines it does
    not list drop to zero (listed in the report). A partial update only
    touches the lines it lists. With ``hold_check`` a snapshot that would zero
    titles readers still hold is refused until applied with ``force`` (the
    admin's confirmation).
    """
    record = stock_import_create(
        shop=shop,
        data=data,
        file=file,
        filename=filename,
        user=user,
        channel=channel,
        force=force,
        partial=partial,
        hold_check=hold_check,
    )
    record = stock_import_run(stock_import_id=record.pk, progress=progress)
    if not record.applied:
        raise StockImportRefused(record)
    return record


def stock_import_create(
    *,
    shop,
    data: bytes | None = None,
    file: BinaryIO | None = None,
    filename: str = "stock.csv",
    user=None,
    channel: str = StockImport.Channel.COMMAND,
    force: bool = False,
    partial: bool = False,
    hold_check: bool = False,
) -> StockImport:
    """Keep the file and create its import record (``pending``), before any work is done."""
    record = StockImport(
        shop=shop,
        original_filename=filename[:255],
        created_by=user if user is not None and user.is_authenticated else None,
        channel=channel,
        force=force,
        partial=partial,
        hold_check=hold_check,
    )
    content = ContentFile(data) if data is not None else File(file)
    record.file.save(get_valid_filename(filename) or "stock.csv", content, save=False)
    record.save()
    return record


def stock_import_run(*, stock_import_id: int, progress: Progress | None = None) -> StockImport:
    """Run a pending import: ``running``, then ``applied``, ``refused`` or ``failed``; safe to call twice."""
    now = timezone.now()
    claimed = StockImport.objects.filter(pk=stock_import_id, status=StockImport.Status.PENDING).update(
        status=StockImport.Status.RUNNING, phase=StockImport.Phase.READING, started_at=now, heartbeat_at=now
    )
    record = StockImport.objects.select_related("shop").get(pk=stock_import_id)
    if not claimed:
        return record  # done, or being done, by another worker
    started = time.monotonic()
    problems = ProblemLog(settings.STOCK_IMPORT_MAX_REPORTED_PROBLEMS)
    zeroed_entries = []
    try:
        try:
            with record.file.open("rb") as file:
                reader = StockFileReader(file, problems=problems)
                record.encoding, record.delimiter = reader.encoding, reader.delimiter
                _stage(record, reader, problems, progress)
                _report(record, problems, rows_read=reader.rows_read)
                _check_rejected_share(record)
                _set_progress(record, progress, phase=StockImport.Phase.APPLYING)
                with transaction.atomic():
                    counts, zeroed_ids = _apply(record, problems, progress)
        finally:
            _drop_staging()
    except (TextFileError, _Refusal) as exc:
        record.status, record.stock_version, record.index_refresh_ids = StockImport.Status.REFUSED, None, []
        record.message = _("Import refusé, le stock précédent est conservé. %(reason)s") % {"reason": exc}
        if isinstance(exc, _Refusal) and exc.zeroed:
            zeroed_entries = _zeroed_report(exc.zeroed, exc.reserved)
    except Exception as exc:
        logger.exception("stock import %s failed", record.pk)
        record.status, record.stock_version, record.index_refresh_ids = StockImport.Status.FAILED, None, []
        record.message = _(
            "L'import a échoué sur une erreur du portail (%(error)s), le stock précédent est conservé. "
            "L'équipe technique est prévenue ; vous pouvez renvoyer le fichier."
        ) % {"error": type(exc).__name__}
    else:
        zeroed_entries = _zeroed_report(zeroed_ids, set())
        record.status = StockImport.Status.APPLIED
        record.created_count = counts.created
        record.updated_count = counts.updated
        record.unchanged_count = counts.unchanged
        record.zeroed_count = counts.zeroed
        record.books_created_count = counts.books_created
        record.message = _("Import appliqué.")
    _report(record, problems)
    record.report += zeroed_entries
    record.phase = StockImport.Phase.INDEXING if record.index_refresh_ids else StockImport.Phase.DONE
    record.finished_at = timezone.now()
    record.duration_ms = int((time.monotonic() - started) * 1000)
    record.save()
    if progress:
        progress(record)
    return StockImport.objects.select_related("shop").get(pk=record.pk)


def stock_import_retry(*, record: StockImport, user=None, force: bool = True) -> StockImport:
    """Apply again, from its kept file, a snapshot refused for what it zeroes (« Appliquer quand même »)."""
    if not record.can_retry:
        raise ValueError(f"stock import {record.pk} is not a refused snapshot that can be applied anyway")
    with record.file.open("rb") as file:
        return stock_import(
            shop=record.shop,
            file=file,
            filename=record.original_filename or "stock.csv",
            user=user,
            channel=record.channel,
            force=force,
        )


def _zeroed_report(line_ids: list[int], reserved: set[int]) -> list[dict]:
    """The report's entries for titles zeroed (or that would be), reserved ones first, at most ZEROED_REPORTED."""
    ordered = sorted(reserved) + [pk for pk in line_ids if pk not in reserved]
    ordered = ordered[:ZEROED_REPORTED]
    found = {}
    for batch in chunked(ordered, CHUNK):
        found.update(
            (pk, (isbn, title, held))
            for pk, isbn, title, held in StockLine.objects.filter(pk__in=batch).values_list(
                "pk", "book__isbn", "book__title", "held"
            )
        )
    return [
        {"level": StockImport.ZEROED, "isbn": found[pk][0], "title": found[pk][1], "held": found[pk][2]}
        for pk in ordered
        if pk in found
    ]


def stock_imports_fail_stale(*, now: datetime.datetime | None = None) -> int:
    """Mark failed the imports whose worker stopped mid-way (no sign of life for a while); returns how many.

    Their transaction never committed, so the shop's previous stock is intact;
    they are not retried: the shop sends its file again (the next export is
    the fresher one anyway).
    """
    now = now or timezone.now()
    return StockImport.objects.filter(
        status=StockImport.Status.RUNNING,
        heartbeat_at__lt=now - datetime.timedelta(seconds=settings.STOCK_IMPORT_STALE_SECONDS),
    ).update(
        status=StockImport.Status.FAILED,
        phase=StockImport.Phase.DONE,
        finished_at=now,
        message=_(
            "Le traitement de cet import s'est arrêté avant la fin (serveur redémarré ou arrêté) : rien n'a été "
            "appliqué, le stock précédent est conservé. Renvoyez le fichier."
        ),
    )


def _set_progress(record: StockImport, progress: Progress | None, **fields) -> None:
    """Save progress at once, where readers see it: outside the import's transaction.

    Inside it (while lines are written), PostgreSQL gets the update from a
    connection of its own (a short thread); SQLite, whose writers take turns,
    shows the figures at commit.
    """
    fields["heartbeat_at"] = timezone.now()
    for name, value in fields.items():
        setattr(record, name, value)
    if progress:
        progress(record)
    if not connection.in_atomic_block:
        StockImport.objects.filter(pk=record.pk).update(**fields)
    elif connection.vendor == "postgresql":

        def save():
            try:
                StockImport.objects.filter(pk=record.pk).update(**fields)
            finally:
                connections.close_all()

        thread = threading.Thread(target=save)
        thread.start()
        thread.join()


def _report(record: StockImport, problems: ProblemLog, **fields) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    record.rejected_count, record.warning_count = problems.errors, problems.warnings
    record.report = sorted(problems.kept, key=lambda p: p["line"])
    record.problem_counts = dict(problems.counts)


def _stage(record: StockImport, reader: StockFileReader, problems: ProblemLog, progress: Progress | None) -> None:
    """Read the file into the temporary table, committing progress as it goes."""
    _drop_staging()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGING} (line integer NOT NULL, isbn varchar(13) NOT NULL, quantity integer, "
            "price_cents bigint, title varchar(500) NOT NULL, author varchar(300) NOT NULL, "
            "publisher varchar(200) NOT NULL)"
        )
    batch = []
    for row in reader.rows():
        price = None if row.price is None else int(row.price * 100)
        batch.append((row.line, row.isbn, row.quantity, price, row.title, row.author, row.publisher))
        if len(batch) == STAGE_BATCH:
            bulk_insert_rows(STAGING, _STAGING_COLUMNS, batch)
            batch = []
            _set_progress(record, progress, rows_read=reader.rows_read)
    bulk_insert_rows(STAGING, _STAGING_COLUMNS, batch)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {STAGING}_isbn ON {STAGING} (isbn, line)")
    _set_progress(record, progress, rows_read=reader.rows_read)


def _drop_staging() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")


def _check_rejected_share(record: StockImport) -> None:
    rejected = record.rejected_count
    allowed = max(1, int(record.rows_read * settings.STOCK_IMPORT_MAX_REJECTED_SHARE))
    if rejected > allowed:
        raise _Refusal(
            _(
                "%(rejected)s lignes sur %(total)s sont illisibles (au plus %(allowed)s tolérées) : "
                "corrigez le fichier d'après le rapport ci-dessous."
            )
            % {"rejected": rejected, "total": record.rows_read, "allowed": allowed}
        )


def _staged_pages(problems: ProblemLog):
    """The readable staged rows, one row per ISBN (a book listed twice, on two shelves, adds up), by pages of ISBNs."""
    last = ""
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT DISTINCT isbn FROM {STAGING} WHERE quantity IS NOT NULL AND isbn > %s ORDER BY isbn LIMIT %s",
                [last, CHUNK],
            )
            isbns = [isbn for (isbn,) in cursor.fetchall()]
            if not isbns:
                return
            cursor.execute(
                f"SELECT line, isbn, quantity, price_cents, title, author, publisher FROM {STAGING} "
                "WHERE quantity IS NOT NULL AND isbn >= %s AND isbn <= %s ORDER BY isbn, line",
                [isbns[0], isbns[-1]],
            )
            rows: dict[str, StockRow] = {}
            for line, isbn, quantity, cents, title, author, publisher in cursor.fetchall():
                price = None if cents is None else Decimal(cents).scaleb(-2)
                first = rows.get(isbn)
                if first is None:
                    rows[isbn] = StockRow(line, isbn, quantity, price, title, author, publisher)
                    continue
                first.quantity = min(first.quantity + quantity, MAX_QUANTITY)
                first.price = price if price is not None else first.price
                problems.warn(
                    line,
                    isbn,
                    _("ISBN déjà présent ligne %(line)s : quantités additionnées") % {"line": first.line},
                    kind="duplicate",
                )
            yield rows
            last = isbns[-1]


def _apply(record: StockImport, problems: ProblemLog, progress: Progress | None) -> tuple[_Counts, list[int]]:
    shop, counts = record.shop, _Counts()
    # Serialise imports of one shop. Reservations are not blocked: holds and
    # releases write only ``held``, which imports never write; a collection also
    # lowers ``quantity``, and whichever write lands last wins (a snapshot's
    # figure is the shop's own count, made after the sale or not).
    type(shop).objects.select_for_update().filter(pk=shop.pk).exists()
    line_table, book_table = StockLine._meta.db_table, Book._meta.db_table
    # Lines of books the file does not list (readable or not: an unreadable row keeps its line as it is).
    not_listed = (
        f"{line_table}.shop_id = %s AND {line_table}.quantity > 0 AND NOT EXISTS (SELECT 1 FROM {book_table} b "
        f"JOIN {STAGING} s ON s.isbn = b.isbn WHERE b.id = {line_table}.book_id)"
    )
    zeroed_ids = []  # the first ZEROED_REPORTED lines it zeroes, for the report
    if not record.partial:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {line_table} WHERE shop_id = %s AND quantity > 0", [shop.pk])
            in_stock_now = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {line_table} WHERE {not_listed}", [shop.pk])
            dropped = cursor.fetchone()[0]
            reserved = set()
            if dropped:
                cursor.execute(
                    f"SELECT id FROM {line_table} WHERE {not_listed} ORDER BY id LIMIT %s", [shop.pk, ZEROED_REPORTED]
                )
                zeroed_ids = [pk for (pk,) in cursor.fetchall()]
                cursor.execute(
                    f"SELECT id FROM {line_table} WHERE {not_listed} AND {line_table}.held > 0 ORDER BY id LIMIT %s",
                    [shop.pk, ZEROED_REPORTED],
                )
                reserved = {pk for (pk,) in cursor.fetchall()}
        if dropped and not record.force and dropped > in_stock_now * settings.STOCK_IMPORT_MAX_DROPPED_SHARE:
            raise _Refusal(
                _(
                    "Ce fichier ferait passer à zéro %(dropped)s des %(total)s titres en stock de la librairie : "
                    "est-il complet ? Si ce stock est juste, relancez l'import en forçant."
                )
                % {"dropped": dropped, "total": in_stock_now},
                zeroed=zeroed_ids,
                reserved=reserved,
            )
        if reserved and record.hold_check and not record.force:
            raise _Refusal(
                _(
                    "À confirmer : ce fichier ferait passer à zéro %(count)s titre(s) que des lecteurs ont réservés "
                    "(en tête de la liste ci-dessous). Si votre stock est juste, appliquez-le quand même."
                )
                % {"count": len(reserved)},
                zeroed=zeroed_ids,
                reserved=reserved,
            )

    version = record.stock_version = change_stamp()
    now, applied, described = timezone.now(), 0, []
    # Where the file's titles came from, for each field they set (``Book.provenance``).
    origin = {"shop": shop.pk, "shop_name": shop.name, "file": record.original_filename[:120], "at": now.isoformat()}
    for rows in _staged_pages(problems):
        book_ids, books_created, page_described = _resolve_books(rows, origin)
        counts.books_created += books_created
        described += page_described
        current = {
            book_id: (quantity, price)
            for book_id, quantity, price in StockLine.objects.filter(
                shop=shop, book_id__in=list(book_ids.values())
            ).values_list("book_id", "quantity", "price")
        }
        to_write = []
        for isbn, row in rows.items():
            book_id = book_ids[isbn]
            existing = current.get(book_id)
            price = row.price if row.price is not None else (existing[1] if existing else None)
            if existing is None:
                counts.created += 1
            elif existing == (row.quantity, price):
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
            to_write.append((shop.pk, book_id, row.quantity, 0, price, now, version))
        _upsert_stock_lines(to_write)
        applied += len(rows)
        _set_progress(record, progress, lines_applied=applied)

    if not record.partial:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {line_table} SET quantity = 0, stock_version = %s WHERE {not_listed}", [version, shop.pk]
            )
            counts.zeroed = cursor.rowcount
    # Stamped last, just before commit: a reader of ``changed_at`` misses a change only
    # if it reads within the moments this statement and the commit take (see passculture).
    StockLine.objects.filter(shop=shop, stock_version=version).update(changed_at=timezone.now())
    _index_later(record)
    index_refresh_later(described)  # books the file described better, whether or not their line changed
    shop.stock_reported_at = timezone.now()
    shop.save(update_fields=["stock_reported_at"])
    return counts, zeroed_ids


def _index_later(record: StockImport) -> None:
    """Queue the refresh of the search documents of every book whose line the import changed.

    Written in the import's transaction as ``IndexRefresh`` rows (one task runs
    them after commit; a failure is kept on its row, shown in the admin and
    retried), so an applied import never leaves the search index behind.
    ``stock_changed`` is sent for the same books, page by page.
    """
    lines = StockLine.objects.filter(shop_id=record.shop_id, stock_version=record.stock_version).order_by("pk")
    last, ids, books = 0, [], 0
    while page := list(lines.filter(pk__gt=last).values_list("pk", "book_id")[:INDEX_CHUNK]):
        last = page[-1][0]
        book_ids = sorted(book_id for _pk, book_id in page)
        ids.append(IndexRefresh.objects.create(book_ids=book_ids).pk)
        books += len(page)
        stock_changed.send(sender=StockLine, shop_id=record.shop_id, book_ids=book_ids, copies_freed=True)
    record.index_refresh_ids, record.books_to_index = ids, books
    if ids:
        enqueue_on_commit(refresh_search_index, ids)


def _resolve_books(rows: dict[str, StockRow], origin: dict) -> tuple[dict[str, int], int, list[int]]:
    """Map every ISBN to a book id, creating unknown books from the file's columns.

    The file's title, publisher and author also fill a known book's empty fields,
    or replace another shop file's where ``Book.may_set`` says so; returns the ids
    of the books so described too.
    """
    isbns = list(rows)
    book_ids = {}
    described = _describe_known_books(rows, origin)
    for batch in chunked(isbns, CHUNK):
        book_ids.update(Book.objects.filter(isbn__in=batch).values_list("isbn", "id"))
    missing = [rows[isbn] for isbn in isbns if isbn not in book_ids]
    now = timezone.now()
    new_books = []
    for row in missing:
        book = Book(isbn=row.isbn, title="", created_at=now, updated_at=now)
        book.apply_metadata(
            {"title": row.title, "publisher": row.publisher},
            Book.Source.SHOP_FILE,
            origin={**origin, "copies": row.quantity},
        )
        new_books.append(book)
    bulk_insert(Book, new_books)
    if new_books:
        for batch in chunked([b.isbn for b in new_books], CHUNK):
            book_ids.update(Book.objects.filter(isbn__in=batch).values_list("isbn", "id"))
        contributors = [
            Contributor(book_id=book_ids[row.isbn], name=row.author, role=Contributor.Role.AUTHOR)
            for row in missing
            if row.author
        ]
        bulk_insert(Contributor, contributors)
    return book_ids, len(new_books), described


def _describe_known_books(rows: dict[str, StockRow], origin: dict) -> list[int]:
    described = set()
    for batch in chunked([isbn for isbn, row in rows.items() if row.title or row.publisher or row.author], CHUNK):
        books = list(Book.objects.filter(isbn__in=batch).only("id", "isbn", "title", "publisher", "provenance"))
        credited = set(Contributor.objects.filter(book__in=books).values_list("book_id", flat=True))
        to_save, authors = [], []
        for book in books:
            row = rows[book.isbn]
            before = dict(book.provenance)
            entry = {**origin, "copies": row.quantity}
            if book.apply_metadata(
                {"title": row.title, "publisher": row.publisher}, Book.Source.SHOP_FILE, origin=entry
            ):
                described.add(book.pk)
            if row.author and book.pk not in credited and book.may_set("contributors", Book.Source.SHOP_FILE):
                authors.append(Contributor(book_id=book.pk, name=row.author[:300], role=Contributor.Role.AUTHOR))
                book.provenance["contributors"] = {"source": str(Book.Source.SHOP_FILE), **entry}
                described.add(book.pk)
            if book.provenance != before:
                to_save.append(book)
        Book.objects.bulk_update(to_save, ["title", "publisher", "provenance"], batch_size=500)
        bulk_insert(Contributor, authors)
    return sorted(described)


def _upsert_stock_lines(rows: list[tuple]) -> None:
    """Insert or update (shop, book, quantity, held, price, changed_at, stock_version) rows; ``held`` is never overwritten."""
    connection = connections[DEFAULT_DB_ALIAS]
    price_field = StockLine._meta.get_field("price")
    changed_field = StockLine._meta.get_field("changed_at")
    bulk_upsert(
        StockLine._meta.db_table,
        ["shop_id", "book_id", "quantity", "held", "price", "changed_at", "stock_version"],
        [
            (
                shop_id,
                book_id,
                quantity,
                held,
                price_field.get_db_prep_save(price, connection),
                changed_field.get_db_prep_save(changed_at, connection),
                version,
            )
            for shop_id, book_id, quantity, held, price, changed_at, version in rows
        ],
        conflict=["shop_id", "book_id"],
        update=["quantity", "price", "changed_at", "stock_version"],
    )
