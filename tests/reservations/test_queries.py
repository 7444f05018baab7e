"""What one reservation asks the database: no query that is not needed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue.models import StockLine
from reservations.models import OutgoingEmail, Reservation, ReservationEvent
from tests.factories import StockLineFactory, reserve

pytestmark = pytest.mark.django_db


def statements_of_a_reservation(line_id, email):
    """The SQL a reservation runs once the view has loaded its line (the calendar already cached)."""
    line = StockLine.objects.select_related("shop", "book").get(pk=line_id)
    with CaptureQueriesContext(connection) as queries:
        reservation = reserve(line, reader_email=email)
    return reservation, [q["sql"] for q in queries.captured_queries]


def test_a_reservation_runs_only_the_queries_it_needs():
    line = StockLineFactory(quantity=5)
    statements_of_a_reservation(line.pk, "first@example.org")  # the shop's calendar is read here, once
    reservation, sql = statements_of_a_reservation(line.pk, "second@example.org")
    work = [s for s in sql if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    if connection.vendor == "postgresql":
        # The reader's lock, then one statement: pause, cap, hold, reservation, event, e-mails; then
        # whether the book's search document must change (the shop's place in its shop_ids: it keeps
        # a free copy here, so nothing is written).
        assert len(work) == 3, work
        assert "pg_advisory_xact_lock" in work[0]
        assert all(table in work[1] for table in ("reservationpause", "stockline", "outgoingemail", "event"))
        assert "booksearchdocument" in work[2] and work[2].endswith("FOR UPDATE")
    else:
        # The pause, the cap, three inserts (reservation, event, both e-mails at once), the hold.
        assert len(work) == 6, work
    assert not any("openinghours" in s or "closure" in s or "passculture" in s for s in sql)
    assert Reservation.objects.get(pk=reservation.pk).reader_email == "second@example.org"
    assert ReservationEvent.objects.filter(reservation=reservation).count() == 1
    assert sorted(OutgoingEmail.objects.filter(reservation=reservation).values_list("kind", flat=True)) == [
        "received",
        "shop_new",
    ]
    line.refresh_from_db()
    assert line.held == 2


def test_the_reservation_page_loads_its_line_shop_and_book_in_one_query(django_assert_num_queries):
    from catalogue.stock.selectors import stock_line_to_reserve

    line = StockLineFactory(quantity=5, book__title="Le Rouge et le Noir")
    expected = StockLine.objects.select_related("shop", "book").get(pk=line.pk)
    with django_assert_num_queries(1):
        loaded = stock_line_to_reserve(pk=line.pk)
        assert (loaded.shop.name, loaded.shop.calendar_version, loaded.book.title) == (
            expected.shop.name,
            expected.shop.calendar_version,
            "Le Rouge et le Noir",
        )
        assert loaded.book.provenance == expected.book.provenance
        assert (loaded.quantity, loaded.held, loaded.price, loaded.available) == (5, 0, expected.price, 5)
    line.shop.is_active = False
    line.shop.save(update_fields=["is_active"])
    assert stock_line_to_reserve(pk=line.pk) is None
    assert stock_line_to_reserve(pk=line.pk + 1000) is None
