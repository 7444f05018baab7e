"""Change feeds read during a long import, on PostgreSQL with real threads: no change is ever skipped.

The import is slowed down inside its transaction (after its first page of lines
is written, or after its last statement) while a hold on another line commits
and a reader polls the feed, as pass Culture's sync would.
"""

import datetime
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from bookshops.models import Shop
from catalogue.models import StockLine
from catalogue.stock import snapshots
from catalogue.stock.changes import stock_changes
from catalogue.stock.holds import stock_hold
from tests.factories import ShopFactory, StockLineFactory, make_isbn

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def stock_file(isbns_quantities) -> bytes:
    return ("EAN;Qté\r\n" + "".join(f"{isbn};{q}\r\n" for isbn, q in isbns_quantities)).encode()


def run_in_thread(target):
    errors = []

    def wrapped():
        try:
            target()
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=wrapped)
    thread.start()
    return thread, errors


@pytest.fixture
def shop_with_stock():
    shop = ShopFactory()
    old = timezone.now() - datetime.timedelta(days=1)
    lines = [StockLineFactory(shop=shop, book__isbn=make_isbn(i), quantity=5, changed_at=old) for i in range(3)]
    return shop, lines


def test_version_feed_read_during_a_long_import_misses_nothing(shop_with_stock, monkeypatch):
    shop, (first, second, untouched) = shop_with_stock
    written, resume = threading.Event(), threading.Event()
    upsert = snapshots._upsert_stock_lines

    def slow_upsert(rows):
        upsert(rows)
        written.set()
        resume.wait(10)  # the import's transaction stays open, its lines written but not committed

    monkeypatch.setattr(snapshots, "_upsert_stock_lines", slow_upsert)
    new = [(make_isbn(100 + i), 2) for i in range(40)]
    data = stock_file([(first.book.isbn, 1), (second.book.isbn, 9), (untouched.book.isbn, 5), *new])
    importer, errors = run_in_thread(lambda: snapshots.stock_import(shop=Shop.objects.get(pk=shop.pk), data=data))
    assert written.wait(10)

    seen, cursor, naive_seen, naive_max = {}, (0, 0), {}, 0

    def poll():
        nonlocal cursor, naive_max
        lines, cursor = stock_changes(shop=shop, since=cursor[0], after_line=cursor[1])
        seen.update({line.book.isbn: (line.quantity, line.held) for line in lines})
        # The naive reader: "everything above the highest stamp I have seen".
        naive = StockLine.objects.filter(shop=shop, stock_version__gt=naive_max).select_related("book")
        for line in naive:
            naive_seen[line.book.isbn] = (line.quantity, line.held)
            naive_max = max(naive_max, line.stock_version)

    poll()
    stock_hold(stock_line_id=untouched.pk, quantity=1)  # commits now, with a later stamp than the import's
    poll()
    assert seen[untouched.book.isbn] == (5, 0), "the hold lies above the horizon while the import runs"
    assert naive_seen[untouched.book.isbn] == (5, 1), "the naive reader takes it, and moves past the import"
    resume.set()
    importer.join(20)
    assert not errors
    final = {
        line.book.isbn: (line.quantity, line.held)
        for line in StockLine.objects.filter(shop=shop).select_related("book")
    }
    assert len(final) == 43
    # The horizon is the server's oldest running transaction (other databases' included): poll until it passes.
    deadline = time.monotonic() + 180
    while seen != final and time.monotonic() < deadline:
        poll()
        time.sleep(0.1)
    assert seen == final
    assert naive_seen != final and first.book.isbn not in naive_seen, "the naive reader skips the import"


def test_lines_applied_show_while_the_import_transaction_is_still_open(shop_with_stock, monkeypatch):
    from catalogue.models import StockImport

    shop, (first, _second, _untouched) = shop_with_stock
    applied, resume = threading.Event(), threading.Event()
    index_later = snapshots._index_later

    def slow_index_later(record):
        applied.set()
        resume.wait(10)  # every page written, nothing committed
        index_later(record)

    monkeypatch.setattr(snapshots, "_index_later", slow_index_later)
    data = stock_file([(make_isbn(i), 7) for i in range(3)] + [(make_isbn(200 + i), 1) for i in range(20)])
    importer, errors = run_in_thread(lambda: snapshots.stock_import(shop=Shop.objects.get(pk=shop.pk), data=data))
    assert applied.wait(10)
    record = StockImport.objects.get()
    assert (record.status, record.phase, record.rows_read, record.lines_applied) == ("running", "applying", 23, 23)
    assert StockLine.objects.get(pk=first.pk).quantity == 5, "the stock itself is not committed yet"
    resume.set()
    importer.join(20)
    assert not errors and StockLine.objects.get(pk=first.pk).quantity == 7
