"""The exact change feed (``catalogue.stock.changes``) on either database."""

import time

import pytest

from catalogue.models import StockLine
from catalogue.stock.changes import change_horizon, stock_changes
from catalogue.stock.holds import stock_hold, stock_release
from catalogue.stock.snapshots import stock_import
from tests.factories import ShopFactory, make_isbn

# Committed for real: on PostgreSQL a test's own open transaction would hold the horizon below its writes.
pytestmark = pytest.mark.django_db(transaction=True)


def settled():
    """Wait for the horizon to pass every stamp written so far (other sessions' transactions may hold it back)."""
    latest = max(StockLine.objects.values_list("stock_version", flat=True), default=0)
    deadline = time.monotonic() + 180
    while change_horizon() <= latest and time.monotonic() < deadline:
        time.sleep(0.05)


def read_all(shop, cursor, limit):
    """Follow the feed to its end; returns the (isbn, quantity, held) seen, in order, and the last cursor."""
    settled()
    seen = []
    while True:
        lines, cursor = stock_changes(shop=shop, since=cursor[0], after_line=cursor[1], limit=limit)
        seen += [(line.book.isbn, line.quantity, line.held) for line in lines]
        if len(lines) < limit:
            return seen, cursor


def test_an_import_and_a_hold_come_through_the_feed_once_each_page_by_page():
    shop, other = ShopFactory(), ShopFactory()
    data = ("EAN;Qté\r\n" + "".join(f"{make_isbn(i)};{i + 1}\r\n" for i in range(5))).encode()
    record = stock_import(shop=shop, data=data)
    stock_import(shop=other, data=data)
    assert set(StockLine.objects.filter(shop=shop).values_list("stock_version", flat=True)) == {record.stock_version}
    seen, cursor = read_all(shop, (0, 0), limit=2)
    assert sorted(seen) == [(make_isbn(i), i + 1, 0) for i in range(5)]
    assert read_all(shop, cursor, limit=2)[0] == [], "nothing new: nothing comes again"

    line = StockLine.objects.get(shop=shop, book__isbn=make_isbn(3))
    stock_hold(stock_line_id=line.pk, quantity=2)
    seen, cursor = read_all(shop, cursor, limit=2)
    assert seen == [(make_isbn(3), 4, 2)]
    stock_release(shop_id=shop.pk, book_id=line.book_id, quantity=2)
    assert read_all(shop, cursor, limit=2)[0] == [(make_isbn(3), 4, 0)]


def test_a_refused_import_stamps_nothing():
    shop = ShopFactory()
    stock_import(shop=shop, data=b"EAN;Qte\r\n9782070368228;1\r\n")
    before = list(StockLine.objects.values_list("stock_version", flat=True))
    from catalogue.exceptions import StockImportRefused

    with pytest.raises(StockImportRefused) as refused:
        stock_import(shop=shop, data=b"EAN;Qte\r\n9782070360246;x\r\n")
    assert refused.value.stock_import.stock_version is None
    assert list(StockLine.objects.values_list("stock_version", flat=True)) == before
