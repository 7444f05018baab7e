import threading

import pytest
from django.db import connection, connections

from catalogue.models import StockLine
from reservations.exceptions import InsufficientStock, ReservationError
from reservations.models import Reservation
from tests.factories import ShopFactory, StockLineFactory, reserve, staff_member

THREADS = 24


def _race(line, quantity=1):
    barrier = threading.Barrier(THREADS)
    outcomes = []
    lock = threading.Lock()

    def attempt(i):
        try:
            barrier.wait()
            try:
                reserve(line, quantity=quantity, reader_email=f"r{i}@example.org", form_token=f"t{i}")
            except InsufficientStock as error:
                result = str(error.message)
            else:
                result = "ok"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_readers_race_for_the_last_copy():
    assert connection.vendor == "postgresql"
    line = StockLineFactory(quantity=1)
    outcomes = _race(line)
    assert outcomes.count("ok") == 1
    assert outcomes.count("Plus d'exemplaire disponible") == THREADS - 1
    line = StockLine.objects.get(pk=line.pk)
    assert (line.quantity, line.held) == (1, 1)
    assert Reservation.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_held_never_exceeds_on_hand_under_contention():
    line = StockLineFactory(quantity=5)
    outcomes = _race(line, quantity=2)
    assert outcomes.count("ok") == 2
    line = StockLine.objects.get(pk=line.pk)
    assert line.held == 4 <= line.quantity
    assert sum(Reservation.objects.values_list("quantity", flat=True)) == line.held


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_racing_itself_makes_one_reservation():
    line = StockLineFactory(quantity=5)
    barrier = threading.Barrier(8)
    results = []

    def submit():
        try:
            barrier.wait()
            results.append(reserve(line, form_token="same-form").pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert StockLine.objects.get(pk=line.pk).held == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_expiry_runs_at_once_expire_and_remind_once(mailoutbox):
    import datetime

    from django.utils import timezone

    from reservations.models import OutgoingEmail, ReservationEvent
    from reservations.services import reservations_expire_due

    line = StockLineFactory(quantity=10)
    long_ago = timezone.now() - datetime.timedelta(days=30)
    for i in range(6):
        reserve(line, reader_email=f"e{i}@example.org", now=long_ago)
    barrier = threading.Barrier(2)
    reports = []

    def run(now):
        try:
            barrier.wait()
            reports.append(reservations_expire_due(now=now))
        finally:
            connections.close_all()

    for moment in (timezone.now(), timezone.now() + datetime.timedelta(seconds=1)):
        threads = [threading.Thread(target=run, args=(moment,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r["reminded"] for r in reports) == 6
    assert sum(r["expired_unconfirmed"] for r in reports) == 6
    assert ReservationEvent.objects.filter(to_status="expired").count() == 6
    assert OutgoingEmail.objects.filter(kind="shop_reminder").count() == 6
    assert OutgoingEmail.objects.filter(kind="expired").count() == 6
    assert StockLine.objects.get(pk=line.pk).held == 0


def _released_together(count, attempt):
    """Run ``attempt(i)`` in ``count`` threads released by one barrier; each outcome is "ok" or the error's class."""
    barrier = threading.Barrier(count)
    outcomes = []
    lock = threading.Lock()

    def run(i):
        try:
            barrier.wait()
            try:
                attempt(i)
            except ReservationError as error:
                result = type(error).__name__
            else:
                result = "ok"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_per_address_cap_holds_under_simultaneous_submissions(settings):
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 3
    line = StockLineFactory(quantity=50)
    for _round in range(2):  # the finding: 4 active, twice
        Reservation.objects.all().delete()
        StockLine.objects.filter(pk=line.pk).update(held=0)
        outcomes = _released_together(
            10, lambda i: reserve(line, reader_email="same@example.org", form_token=f"t{_round}-{i}")
        )
        assert outcomes == ["TooManyActiveReservations"] * 7 + ["ok"] * 3
        assert Reservation.objects.active().filter(reader_email="same@example.org").count() == 3
        assert StockLine.objects.get(pk=line.pk).held == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_per_client_rate_limit_is_exact_in_the_shared_cache(db_cache, settings):
    settings.RESERVATIONS_RATE_LIMIT = 10
    line = StockLineFactory(quantity=100)
    outcomes = _released_together(
        30, lambda i: reserve(line, reader_email=f"r{i}@example.org", form_token=f"t{i}", client="198.51.100.4")
    )
    assert outcomes == ["RateLimited"] * 20 + ["ok"] * 10
    assert Reservation.objects.count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_limits_hold_under_simultaneous_bookings(db_cache, settings):
    settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = 5
    settings.RESERVATIONS_STAFF_RATE_LIMIT = 100
    origin = ShopFactory()
    line = StockLineFactory(quantity=40)
    bookseller = staff_member(origin)

    def book(i, line=line, quantity=2, user=bookseller):
        reserve(
            line,
            quantity=quantity,
            reader_email=f"c{i}@example.org",
            form_token=f"s{line.pk}-{i}",
            referred_by_shop=origin,
            user=user,
        )

    outcomes = _released_together(8, book)
    assert outcomes == ["ColleagueLineLimit"] * 6 + ["ok"] * 2
    assert StockLine.objects.get(pk=line.pk).held == 4

    settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = 1000
    settings.RESERVATIONS_STAFF_RATE_LIMIT = 10
    other, fresh = StockLineFactory(quantity=100), staff_member(origin)
    outcomes = _released_together(25, lambda i: book(i, line=other, quantity=1, user=fresh))
    assert outcomes == ["StaffRateLimited"] * 15 + ["ok"] * 10
    assert StockLine.objects.get(pk=other.pk).held == 10
