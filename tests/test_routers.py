"""Which database each read goes to, on either database (the replica itself: tests/test_replica.py)."""

import pytest
from django.db import transaction

from bookshops.models import Shop
from catalogue.models import Book, StockLine
from portal import routers
from reservations.models import Reservation

router = routers.PrimaryReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(routers, "replica_configured", lambda: True)


def test_without_a_replica_everything_reads_from_the_primary():
    assert router.db_for_read(Book) == "default"


def test_reader_tables_read_from_the_replica_and_the_rest_from_the_primary(with_replica):
    assert [router.db_for_read(m) for m in (Book, StockLine, Shop)] == ["replica"] * 3
    assert router.db_for_read(Reservation) == "default"  # a reader's own page
    assert router.db_for_write(Book) == "default"
    assert router.allow_migrate("replica", "catalogue") is False
    assert router.allow_migrate("default", "catalogue") is True


def test_pinned_requests_and_transactions_read_from_the_primary(with_replica, transactional_db):
    token = routers.use_primary()
    try:
        assert router.db_for_read(Book) == "default"
    finally:
        routers.reset_primary(token)
    assert router.db_for_read(Book) == "replica"
    with transaction.atomic():  # what a workflow reads before it writes
        assert router.db_for_read(Book) == "default"
