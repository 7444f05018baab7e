"""A shop's stock file applied as its whole stock (a snapshot) or as a few lines, all or nothing, with its record."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from portal.textfiles import TextFileError

from ..exceptions import StockImportRefused
from ..models import Book, Contributor, StockImport, StockLine
from ..tasks import index_refresh_later
from .bulk import bulk_insert, bulk_upsert, chunked
from .files import ParsedStockFile, StockRow, parse_stock_file
from .signals import stock_changed

#: Rows per query when looking up or writing many rows at once.
CHUNK = 2000
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


def stock_import(
    *,
    shop,
    data: bytes,
    filename: str = "stock.csv",
    user=None,
    channel: str = StockImport.Channel.COMMAND,
    force: bool = False,
    partial: bool = False,
    hold_check: bool = False,
) -> StockImport:
    """Apply a shop's stock file, all or nothing, and keep the file and its report.

    A snapshot (``partial=False``) is the shop's whole stock: lines it does
    not list drop to zero (listed in the report). A partial update only
    touches the lines it lists. With ``hold_check`` a snapshot that would zero
    titles readers still hold is refused until applied with ``force`` (the
    admin's confirmation). Raises ``StockImportRefused`` (carrying the saved
    record) when refused.
    """
    started = time.monotonic()
    record = StockImport(
        shop=shop,
        original_filename=filename[:255],
        created_by=user if user is not None and user.is_authenticated else None,
        channel=channel,
    )
    record.file.save(get_valid_filename(filename) or "stock.csv", ContentFile(data), save=False)
    parsed = None
    try:
        parsed = parse_stock_file(data)
        record.encoding, record.delimiter = parsed.encoding, parsed.delimiter
        record.rows_read = parsed.rows_read
        record.rejected_count = parsed.rejected_count
        record.report = parsed.problems
        _check_rejected_share(parsed)
        with transaction.atomic():
            counts, changed_book_ids, zeroed = _apply(shop, parsed, force=force, partial=partial, hold_check=hold_check)
            shop.stock_reported_at = timezone.now()
            shop.save(update_fields=["stock_reported_at"])
            index_refresh_later(changed_book_ids)
            stock_changed.send(sender=StockLine, shop_id=shop.pk, book_ids=changed_book_ids)
    except (TextFileError, _Refusal) as exc:
        record.status = StockImport.Status.REFUSED
        record.message = _("Import refusé, le stock précédent est conservé. %(reason)s") % {"reason": exc}
        if isinstance(exc, _Refusal) and exc.zeroed:
            record.report = record.report + _zeroed_report(exc.zeroed, exc.reserved)
    else:
        record.report = record.report + _zeroed_report(zeroed, set())
        record.status = StockImport.Status.APPLIED
        record.created_count = counts.created
        record.updated_count = counts.updated
        record.unchanged_count = counts.unchanged
        record.zeroed_count = counts.zeroed
        record.books_created_count = counts.books_created
        record.message = _("Import appliqué.")
    record.duration_ms = int((time.monotonic() - started) * 1000)
    record.save()
    if not record.applied:
        raise StockImportRefused(record)
    return record


def stock_import_retry(*, record: StockImport, user=None, force: bool = True) -> StockImport:
    """Apply again, from its kept file, a snapshot refused for what it zeroes (« Appliquer quand même »)."""
    if not record.can_retry:
        raise ValueError(f"stock import {record.pk} is not a refused snapshot that can be applied anyway")
    with record.file.open("rb") as file:
        data = file.read()
    return stock_import(
        shop=record.shop, data=data, filename=record.original_filename or "stock.csv", user=user,
        channel=record.channel, force=force,
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
                "pk", "book__isbn", "book__title", "held")
        )
    return [
        {"level": StockImport.ZEROED, "isbn": found[pk][0], "title": found[pk][1], "held": found[pk][2]}
        for pk in ordered if pk in found
    ]


def _check_rejected_share(parsed: ParsedStockFile) -> None:
    rejected = parsed.rejected_count
    allowed = max(1, int(parsed.rows_read * settings.STOCK_IMPORT_MAX_REJECTED_SHARE))
    if rejected > allowed:
        raise _Refusal(
            _("%(rejected)s lignes sur %(total)s sont illisibles (au plus %(allowed)s tolérées) : "
              "corrigez le fichier d'après le rapport ci-dessous.")
            % {"rejected": rejected, "total": parsed.rows_read, "allowed": allowed}
        )


def _merge_duplicates(parsed: ParsedStockFile) -> dict[str, StockRow]:
    """One row per ISBN: a book listed twice (two shelves) adds up."""
    by_isbn: dict[str, StockRow] = {}
    for row in parsed.rows:
        first = by_isbn.get(row.isbn)
        if first is None:
            by_isbn[row.isbn] = row
            continue
        first.quantity += row.quantity
        first.price = row.price if row.price is not None else first.price
        parsed.warn(row.line, row.isbn, _("ISBN déjà présent ligne %(line)s : quantités additionnées") % {"line": first.line})
    return by_isbn


def _apply(shop, parsed: ParsedStockFile, *, force: bool, partial: bool, hold_check: bool = False):
    counts = _Counts()
    # Serialise imports of one shop. Reservations are not blocked: holds and
    # releases write only ``held``, which imports never write; a collection also
    # lowers ``quantity``, and whichever write lands last wins (a snapshot's
    # figure is the shop's own count, made after the sale or not).
    type(shop).objects.select_for_update().filter(pk=shop.pk).exists()
    rows = _merge_duplicates(parsed)
    book_ids, counts.books_created = _resolve_books(rows)

    shop_lines = StockLine.objects.filter(shop=shop)
    if partial and len(book_ids) <= CHUNK:  # a few changes: do not load the whole shop's stock
        shop_lines = shop_lines.filter(book_id__in=list(book_ids.values()))
    current = {
        book_id: (line_id, quantity, price)
        for book_id, line_id, quantity, price in shop_lines.values_list("book_id", "id", "quantity", "price")
    }
    listed = set()
    to_write = []
    now = timezone.now()
    for isbn, row in rows.items():
        book_id = book_ids[isbn]
        listed.add(book_id)
        existing = current.get(book_id)
        price = row.price if row.price is not None else (existing[2] if existing else None)
        if existing is None:
            counts.created += 1
        elif existing[1] == row.quantity and existing[2] == price:
            counts.unchanged += 1
            continue
        else:
            counts.updated += 1
        to_write.append((shop.pk, book_id, row.quantity, 0, price, now))

    to_zero = []
    if not partial:
        protected = {book_ids[isbn] for isbn in parsed.unreadable_isbns if isbn in book_ids}
        protected |= set(
            Book.objects.filter(isbn__in=parsed.unreadable_isbns - book_ids.keys()).values_list("id", flat=True)
        )
        to_zero = [
            line_id
            for book_id, (line_id, quantity, _price) in current.items()
            if quantity > 0 and book_id not in listed and book_id not in protected
        ]
        in_stock_now = sum(1 for _line_id, quantity, _price in current.values() if quantity > 0)
        reserved = set()
        if to_zero:
            held_ids = set(StockLine.objects.filter(shop=shop, held__gt=0).values_list("pk", flat=True))
            reserved = held_ids.intersection(to_zero)
        if to_zero and not force and len(to_zero) > in_stock_now * settings.STOCK_IMPORT_MAX_DROPPED_SHARE:
            raise _Refusal(
                _("Ce fichier ferait passer à zéro %(dropped)s des %(total)s titres en stock de la librairie : "
                  "est-il complet ? Si ce stock est juste, relancez l'import en forçant.")
                % {"dropped": len(to_zero), "total": in_stock_now},
                zeroed=to_zero, reserved=reserved,
            )
        if reserved and hold_check and not force:
            raise _Refusal(
                _("À confirmer : ce fichier ferait passer à zéro %(count)s titre(s) que des lecteurs ont réservés "
                  "(en tête de la liste ci-dessous). Si votre stock est juste, appliquez-le quand même.")
                % {"count": len(reserved)},
                zeroed=to_zero, reserved=reserved,
            )

    _upsert_stock_lines(to_write)
    for batch in chunked(to_zero, CHUNK):
        StockLine.objects.filter(pk__in=batch).update(quantity=0, changed_at=now)
    counts.zeroed = len(to_zero)

    zeroed = set(to_zero)
    changed = [line[1] for line in to_write]
    changed += [book_id for book_id, (line_id, _q, _p) in current.items() if line_id in zeroed]
    return counts, changed, to_zero


def _resolve_books(rows: dict[str, StockRow]) -> tuple[dict[str, int], int]:
    """Map every ISBN to a book id, creating unknown books from the file's columns."""
    isbns = list(rows)
    book_ids = {}
    for batch in chunked(isbns, CHUNK):
        book_ids.update(Book.objects.filter(isbn__in=batch).values_list("isbn", "id"))
    missing = [rows[isbn] for isbn in isbns if isbn not in book_ids]
    now = timezone.now()
    new_books = []
    for row in missing:
        book = Book(isbn=row.isbn, title="", created_at=now, updated_at=now)
        book.apply_metadata({"title": row.title, "publisher": row.publisher}, Book.Source.SHOP_FILE)
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
    return book_ids, len(new_books)


def _upsert_stock_lines(rows: list[tuple]) -> None:
    """Insert or update (shop, book, quantity, held, price, changed_at) rows; ``held`` is never overwritten."""
    connection = connections[DEFAULT_DB_ALIAS]
    price_field = StockLine._meta.get_field("price")
    changed_field = StockLine._meta.get_field("changed_at")
    bulk_upsert(
        StockLine._meta.db_table,
        ["shop_id", "book_id", "quantity", "held", "price", "changed_at"],
        [
            (shop_id, book_id, quantity, held, price_field.get_db_prep_save(price, connection),
             changed_field.get_db_prep_save(changed_at, connection))
            for shop_id, book_id, quantity, held, price, changed_at in rows
        ],
        conflict=["shop_id", "book_id"],
        update=["quantity", "price", "changed_at"],
    )
