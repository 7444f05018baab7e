import threading

import pytest
from django.db import connection, connections

from catalogue.models import StockLine
from reservations.exceptions import InsufficientStock
from reservations.models import Reservation
from tests.factories import StockLineFactory, reserve

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
