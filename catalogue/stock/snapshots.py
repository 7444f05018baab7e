"""A shop's stock file applied as its whole stock (a snapshot) or as a few lines, all or nothing, with its record.

An import is recorded first (``stock_import_create``: the kept file, status
``pending``), then run (``stock_import_run``, by a worker or by the command):
the file is read as a stream into a temporary table (COPY on PostgreSQL),
checked, then applied in one transaction by a few statements over whole tables
(``UPDATE … FROM`` the lines that change, ``INSERT … SELECT`` the new ones and
the new books), so memory does not grow with the file and a re-import touches
only what changed. Its lines carry the import's change stamp
(``catalogue.stock.changes``).
"""

import datetime
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from portal.tasks import enqueue_on_commit
from portal.textfiles import TextFileError

from ..exceptions import StockImportRefused
from ..models import Book, Contributor, IndexRefresh, StockImport, StockLine
from ..search import INDEX_CHUNK, availability_refresh
from ..tasks import refresh_search_index
from .bulk import bulk_insert, bulk_insert_rows, chunked, insert_select
from .changes import change_stamp
from .files import MAX_QUANTITY, ProblemLog, StockFileReader, StockRow
from .signals import stock_changed

logger = logging.getLogger(__name__)

#: Rows per query when looking up or writing many rows at once.
CHUNK = 2000
#: Rows read from the file between two writes to the temporary table (and two progress reports).
STAGE_BATCH = 5000
STAGING = "stock_import_staging"
#: Up to this many rows, the temporary tables are read whole: no index, no statistics (a PATCH of a few lines).
SMALL = 1000
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
    if record.partial and record.rows_read <= STAGE_BATCH:
        return  # a small PATCH is answered with its report: no one watches its progress, saved with the record
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
    for row in reader.staged_rows():
        batch.append(row)
        if len(batch) == STAGE_BATCH:
            bulk_insert_rows(STAGING, _STAGING_COLUMNS, batch)
            batch = []
            _set_progress(record, progress, rows_read=reader.rows_read)
    bulk_insert_rows(STAGING, _STAGING_COLUMNS, batch)
    if reader.rows_read > SMALL:
        _run(f"CREATE INDEX {STAGING}_isbn ON {STAGING} (isbn, line)")
    _set_progress(record, progress, rows_read=reader.rows_read)


def _drop_staging() -> None:
    tables = (STAGING, MERGED, REINDEX, DROPPED)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(tables)}")
            return
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _check_rejected_share(record: StockImport) -> None:
    rejected = record.rejected_count
    if rejected and rejected == record.rows_read:
        # Even one line: "applied" would tell a point-of-sale program its change went through.
        raise _Refusal(_("Aucune ligne n'est lisible : corrigez-les d'après le rapport ci-dessous."))
    allowed = max(1, int(record.rows_read * settings.STOCK_IMPORT_MAX_REJECTED_SHARE))
    if rejected > allowed:
        raise _Refusal(
            _(
                "%(rejected)s lignes sur %(total)s sont illisibles (au plus %(allowed)s tolérées) : "
                "corrigez le fichier d'après le rapport ci-dessous."
            )
            % {"rejected": rejected, "total": record.rows_read, "allowed": allowed}
        )


#: One row per readable ISBN of the file (a book listed twice, on two shelves, adds up), with its book once known.
MERGED = "stock_import_merged"
#: The books whose search document the import changes: new, described better, or available here or no longer.
REINDEX = "stock_import_reindex"
#: The shop's lines in stock that a snapshot does not list (it zeroes them).
DROPPED = "stock_import_dropped"


def _run(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _analyze(table: str) -> None:
    """Give PostgreSQL the row counts of a temporary table (autovacuum never looks at them) before joining it."""
    if connection.vendor == "postgresql":
        _run(f"ANALYZE {table}")


def _merge_staged(problems: ProblemLog) -> int:
    """Fold the staged rows into one row per ISBN (first line's texts, quantities added, last price); returns how many.

    Each row gets its book: the known one, or (PostgreSQL) the id the new book
    will take, drawn from its sequence now so that no later statement needs
    to look the new books up again. Only the lines that repeat an ISBN come
    back to Python, for their warnings.
    """
    book_table = Book._meta.db_table
    if connection.vendor == "postgresql":
        book_id = f"COALESCE(b.id, nextval(pg_get_serial_sequence('{book_table}', 'id')))"
    else:
        book_id = "b.id"  # the new books' ids are read back once they are written
    _run(
        f"CREATE TEMPORARY TABLE {MERGED} AS "
        f"SELECT f.isbn, f.line, CASE WHEN g.quantity > {MAX_QUANTITY} THEN {MAX_QUANTITY} ELSE g.quantity END "
        "AS quantity, CASE WHEN g.n = 1 THEN f.price_cents ELSE ("
        f"SELECT p.price_cents FROM {STAGING} p WHERE p.isbn = f.isbn AND p.quantity IS NOT NULL "
        "AND p.price_cents IS NOT NULL ORDER BY p.line DESC LIMIT 1) END AS price_cents, "
        f"f.title, f.author, f.publisher, CAST({book_id} AS bigint) AS book_id, "
        f"CASE WHEN b.id IS NULL THEN 1 ELSE 0 END AS created, {_describes_sql('f')} AS described "
        f"FROM (SELECT isbn, MIN(line) AS line, SUM(quantity) AS quantity, COUNT(*) AS n FROM {STAGING} "
        "WHERE quantity IS NOT NULL GROUP BY isbn) g "
        f"JOIN {STAGING} f ON f.isbn = g.isbn AND f.line = g.line LEFT JOIN {book_table} b ON b.isbn = f.isbn"
    )
    merged = _scalar(f"SELECT COUNT(*) FROM {MERGED}")
    if merged > SMALL:
        _analyze(MERGED)
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT s.line, s.isbn, m.line FROM {STAGING} s JOIN {MERGED} m ON m.isbn = s.isbn "
            "WHERE s.quantity IS NOT NULL AND s.line > m.line ORDER BY s.isbn, s.line"
        )
        while repeated := cursor.fetchmany(CHUNK):
            for line, isbn, first_line in repeated:
                problems.warn(
                    line,
                    isbn,
                    _("ISBN déjà présent ligne %(line)s : quantités additionnées") % {"line": first_line},
                    kind="duplicate",
                )
    return merged


def _apply(record: StockImport, problems: ProblemLog, progress: Progress | None) -> tuple[_Counts, list[int]]:
    """Write the staged file as a few statements over whole tables: only the lines that change are touched."""
    shop, counts = record.shop, _Counts()
    # Serialise imports of one shop. Reservations are not blocked: holds and
    # releases write only ``held``, which imports never write; a collection also
    # lowers ``quantity``, and whichever write lands last wins (a snapshot's
    # figure is the shop's own count, made after the sale or not).
    type(shop).objects.select_for_update().filter(pk=shop.pk).exists()
    if connection.vendor == "postgresql":
        # The statements over whole tables pass jit_above_cost: compiling them took longer than running them.
        _run("SET LOCAL jit = off")
    line_table = StockLine._meta.db_table
    zeroed_ids, dropped = [], 0  # the first ZEROED_REPORTED lines it zeroes, for the report; how many
    if not record.partial:
        dropped = _note_not_listed(shop.pk)
        in_stock_now = _scalar(f"SELECT COUNT(*) FROM {line_table} WHERE shop_id = %s AND quantity > 0", [shop.pk])
        reserved = set()
        if dropped:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {DROPPED} ORDER BY id LIMIT %s", [ZEROED_REPORTED])
                zeroed_ids = [pk for (pk,) in cursor.fetchall()]
                cursor.execute(f"SELECT id FROM {DROPPED} WHERE held > 0 ORDER BY id LIMIT %s", [ZEROED_REPORTED])
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

    listed = _merge_staged(problems)
    _run(f"CREATE TEMPORARY TABLE {REINDEX} (book_id bigint PRIMARY KEY)")
    version = record.stock_version = change_stamp()
    now = timezone.now()
    # Where the file's titles came from, for each field they set (``Book.provenance``).
    origin = {"shop": shop.pk, "shop_name": shop.name, "file": record.original_filename[:120], "at": now.isoformat()}
    counts.books_created = _resolve_books(shop, origin)
    step = _LineWrite(shop_id=shop.pk, version=version, now=now, listed=listed)
    _upsert_stock_lines(step)
    counts.created, counts.updated, counts.unchanged = step.created, step.updated, step.unchanged
    _set_progress(record, progress, lines_applied=listed)

    if dropped:
        _mark_reindex(f"SELECT book_id FROM {DROPPED} WHERE quantity > held")
        counts.zeroed = _run(
            f"UPDATE {line_table} SET quantity = 0, changed_at = %s, stock_version = %s "
            f"WHERE id IN (SELECT id FROM {DROPPED}) AND quantity > 0",
            [step.changed_at, version],
        )
    # Every book whose availability here may have flipped is in REINDEX (with those described anew).
    availability_refresh(books_sql=f"SELECT book_id FROM {REINDEX}", shop_id=shop.pk)
    _index_later(record)
    shop.stock_reported_at = timezone.now()
    shop.save(update_fields=["stock_reported_at"])
    return counts, zeroed_ids


def _note_not_listed(shop_id: int) -> int:
    """Keep aside the shop's lines in stock whose book the file does not list (a snapshot zeroes them); how many.

    Listed means on any row, readable or not: an unreadable row keeps its line as it is.
    """
    line_table, book_table = StockLine._meta.db_table, Book._meta.db_table
    _run(
        f"CREATE TEMPORARY TABLE {DROPPED} AS SELECT l.id, l.book_id, l.quantity, l.held FROM {line_table} l "
        f"WHERE l.shop_id = %s AND l.quantity > 0 AND NOT EXISTS (SELECT 1 FROM {book_table} b "
        f"JOIN {STAGING} s ON s.isbn = b.isbn WHERE b.id = l.book_id)",
        [shop_id],
    )
    return _scalar(f"SELECT COUNT(*) FROM {DROPPED}")


def _mark_reindex(select_sql: str, params=()) -> None:
    """Add the book ids a query returns to the books whose search document the import changes."""
    _run(f"INSERT INTO {REINDEX} (book_id) {select_sql} ON CONFLICT (book_id) DO NOTHING", params)


def _index_later(record: StockImport) -> None:
    """Queue the refresh of the search documents the import changed, and tell ``stock_changed`` every line it wrote.

    A document changes when its book is new or described better by the file,
    or when a copy became free here or the last free one went: a line whose
    quantity or price changed and stays available (or not) leaves it as it is.
    The refreshes are ``IndexRefresh`` rows written in the import's transaction
    (one task runs them after commit; a failure is kept on its row, shown in
    the admin and retried), so an applied import never leaves the index behind.
    """
    ids, books, last = [], 0, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT book_id FROM {REINDEX} WHERE book_id > %s ORDER BY book_id LIMIT %s", [last, INDEX_CHUNK]
            )
            book_ids = [book_id for (book_id,) in cursor.fetchall()]
            if not book_ids:
                break
            last = book_ids[-1]
            ids.append(IndexRefresh.objects.create(book_ids=book_ids).pk)
            books += len(book_ids)
    record.index_refresh_ids, record.books_to_index = ids, books
    if ids:
        enqueue_on_commit(refresh_search_index, ids)
    lines = StockLine.objects.filter(shop_id=record.shop_id, stock_version=record.stock_version).order_by("pk")
    last = 0
    while page := list(lines.filter(pk__gt=last).values_list("pk", "book_id")[:INDEX_CHUNK]):
        last = page[-1][0]
        book_ids = sorted(book_id for _pk, book_id in page)
        stock_changed.send(sender=StockLine, shop_id=record.shop_id, book_ids=book_ids, copies_freed=True)


def _resolve_books(shop, origin: dict) -> int:
    """Create the listed books the catalogue lacks from the file's columns; returns how many were created.

    The file's title, publisher and author also fill a known book's empty fields,
    or replace another shop file's where ``Book.may_set`` says so (those books
    are indexed again). New books and their authors are written by one
    ``INSERT … SELECT`` each.
    """
    book_table = Book._meta.db_table
    for rows in _described_candidates():
        described = _describe_known_books(rows, origin)
        for batch in chunked(described, CHUNK):
            _mark_reindex(f"SELECT id FROM {book_table} WHERE id IN ({', '.join(['%s'] * len(batch))})", list(batch))
    now = timezone.now()
    entry = json.dumps({"source": str(Book.Source.SHOP_FILE), **origin})
    provenance_sql, provenance_params = _new_book_provenance_sql(entry)
    values = {
        "isbn": ("m.isbn", []),
        "title": ("m.title", []),
        "publisher": ("m.publisher", []),
        "provenance": (provenance_sql, provenance_params),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
    }
    if connection.vendor == "postgresql":
        values["id"] = ("m.book_id", [])
    created = insert_select(Book, values, f"FROM {MERGED} m WHERE m.created = 1 ORDER BY m.book_id, m.isbn")
    if created:
        if connection.vendor != "postgresql":
            _run(
                f"UPDATE {MERGED} SET book_id = b.id FROM {book_table} b "
                f"WHERE b.isbn = {MERGED}.isbn AND {MERGED}.created = 1"
            )
        insert_select(
            Contributor,
            {"book_id": ("m.book_id", []), "name": ("m.author", []), "role": ("%s", [Contributor.Role.AUTHOR])},
            f"FROM {MERGED} m WHERE m.created = 1 AND m.author <> '' ORDER BY m.book_id",
        )
        _mark_reindex(f"SELECT book_id FROM {MERGED} WHERE created = 1")
    return created


def _new_book_provenance_sql(entry: str) -> tuple[str, list]:
    """SQL for a new book's provenance: the file's entry (with the copies listed) for its title and publisher."""
    if connection.vendor == "postgresql":
        field = "CASE WHEN m.{0} <> '' THEN jsonb_build_object('{0}', %s::jsonb || jsonb_build_object('copies', m.quantity)) ELSE '{{}}'::jsonb END"
        return f"{field.format('title')} || {field.format('publisher')}", [entry, entry]
    field = "CASE WHEN m.{0} <> '' THEN json_object('{0}', json_set(%s, '$.copies', m.quantity)) ELSE '{{}}' END"
    return f"json_patch({field.format('title')}, {field.format('publisher')})", [entry, entry]


def _described_candidates():
    """The listed rows of known books the file could describe better, by pages of ISBNs, as ``{isbn: StockRow}``.

    Marked when the file was merged (``_describes_sql``): the whole file of a
    re-import, whose texts did not change, never comes back to Python.
    """
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT line, isbn, quantity, title, author, publisher FROM {MERGED} WHERE described = 1 ORDER BY isbn"
        )
        while found := cursor.fetchmany(CHUNK):
            yield {
                isbn: StockRow(line, isbn, quantity, None, title, author, publisher)
                for line, isbn, quantity, title, author, publisher in found
            }


def _describes_sql(row: str) -> str:
    """1 when the file's ``row`` may describe its known book ``b`` better, else 0 (SQL).

    A field the file leaves empty, or gives as the book already has it with a
    shop file as its source, cannot change (``Book.apply_metadata``): the
    stored texts are compared first, the provenance only for equal texts.
    """
    contributor_table = Contributor._meta.db_table
    shop_file = str(Book.Source.SHOP_FILE)
    same = []
    for name in ("title", "publisher"):
        source, withdrawn = _json_text("b.provenance", name, "source"), _json_text("b.provenance", name, "withdrawn")
        same.append(
            f"({row}.{name} = '' OR (b.{name} = {row}.{name} AND {source} = '{shop_file}' AND {withdrawn} IS NULL))"
        )
    same.append(f"({row}.author = '' OR EXISTS (SELECT 1 FROM {contributor_table} c WHERE c.book_id = b.id))")
    return f"CASE WHEN b.id IS NULL OR ({' AND '.join(same)}) THEN 0 ELSE 1 END"


def _json_text(column: str, key: str, member: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} -> '{key}' ->> '{member}')"
    return f"json_extract({column}, '$.{key}.{member}')"


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


@dataclass
class _LineWrite:
    """The shop's lines to write from the merged file, and what became of them."""

    shop_id: int
    version: int
    now: datetime.datetime
    listed: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed_at(self):
        return StockLine._meta.get_field("changed_at").get_db_prep_save(self.now, connection)


def _upsert_stock_lines(step: _LineWrite) -> None:
    """Update the shop's lines whose quantity or price the file changes, insert the new ones; ``held`` is never written."""
    line_table = StockLine._meta.db_table
    changed_at = step.changed_at
    price = "m.price_cents / 100.0"
    differs = f"(l.quantity <> m.quantity OR (m.price_cents IS NOT NULL AND (l.price IS NULL OR l.price <> {price})))"
    matched = f"FROM {MERGED} m JOIN {line_table} l ON l.shop_id = %s AND l.book_id = m.book_id"
    # Noted before writing: the lines where a copy becomes free, or the last free one goes.
    _mark_reindex(
        f"SELECT m.book_id {matched} WHERE {differs} AND "
        "(CASE WHEN l.quantity > l.held THEN 1 ELSE 0 END) <> (CASE WHEN m.quantity > l.held THEN 1 ELSE 0 END)",
        [step.shop_id],
    )
    new_line = f"NOT EXISTS (SELECT 1 FROM {line_table} l WHERE l.shop_id = %s AND l.book_id = m.book_id)"
    _mark_reindex(f"SELECT m.book_id FROM {MERGED} m WHERE m.quantity > 0 AND {new_line}", [step.shop_id])
    existing = _scalar(f"SELECT COUNT(*) {matched}", [step.shop_id])
    step.updated = _run(
        f"UPDATE {line_table} AS l SET quantity = m.quantity, price = COALESCE({price}, l.price), "
        f"changed_at = %s, stock_version = %s FROM {MERGED} m "
        f"WHERE l.shop_id = %s AND l.book_id = m.book_id AND {differs}",
        [changed_at, step.version, step.shop_id],
    )
    step.unchanged = existing - step.updated
    step.created = _run(
        f"INSERT INTO {line_table} (shop_id, book_id, quantity, held, price, changed_at, stock_version) "
        f"SELECT %s, m.book_id, m.quantity, 0, {price}, %s, %s FROM {MERGED} m WHERE {new_line} ORDER BY m.book_id",
        [step.shop_id, changed_at, step.version, step.shop_id],
    )
