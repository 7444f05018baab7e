import datetime

import pytest
from django.utils import timezone

from catalogue.stock.holds import stock_hold, stock_release
from tests.factories import StockLineFactory

pytestmark = pytest.mark.django_db


def test_holding_and_releasing_copies_mark_the_line_changed_for_incremental_syncs():
    long_ago = timezone.now() - datetime.timedelta(days=3)
    line = StockLineFactory(quantity=2, changed_at=long_ago)
    stock_hold(stock_line_id=line.pk, quantity=1)
    line.refresh_from_db()
    assert line.held == 1 and line.changed_at > long_ago
    line.changed_at = long_ago
    line.save()
    stock_release(shop_id=line.shop_id, book_id=line.book_id, quantity=1)
    line.refresh_from_db()
    assert line.held == 0 and line.changed_at > long_ago
