"""Reader pages read from a real PostgreSQL streaming replica; writes and one's own writes go to the primary.

Needs the replica that ``scripts/pg-replica`` starts on 127.0.0.1:5433 (``.ci/run``
does) and ``TEST_REPLICA_URL`` pointing at it: the test database the suite
creates on the primary reaches the replica by streaming replication.
"""

import os
import re
import time

import environ
import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalogue.search import update_index
from portal.middleware import ReplicaRoutingMiddleware
from portal.routers import REPLICA
from reservations.models import Reservation
from tests.factories import BookFactory, StockLineFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", REPLICA])]


def _wait_for_replay(timeout: float = 20.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                pytest.fail("the replica did not catch up with the primary")
            time.sleep(0.05)


def _diagnosis(response, line) -> str:
    """What the search page showed, and what each database holds, when the book is missing."""
    main = re.search(r"<main.*?</main>", response.content.decode(), re.S)
    held = {}
    for alias in ("default", REPLICA):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM catalogue_booksearchdocument WHERE book_id = %s),"
                " (SELECT count(*) FROM catalogue_stockline WHERE id = %s), pg_is_in_recovery()",
                [line.book_id, line.pk],
            )
            held[alias] = cursor.fetchone()
    return f"documents, lines, in recovery: {held}; page: {main.group(0)[-1500:] if main else response.content[:800]}"


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """The ``replica`` alias, on the streaming replica, reading the (replicated) test database.

    Module-scoped so that it exists before each test declares its databases; marked as
    a mirror of ``default`` so that no test tries to flush or create it.
    """
    url = os.environ.get("TEST_REPLICA_URL")
    if not url:
        pytest.skip("set TEST_REPLICA_URL to a streaming replica of this server (scripts/pg-replica)")
    primary = connections["default"].settings_dict
    address = {k: v for k, v in environ.Env.db_url_config(url).items() if k in ("HOST", "PORT", "USER")}
    connections.settings[REPLICA] = {**primary, **address, "NAME": primary["NAME"], "TEST": {"MIRROR": "default"}}
    with django_db_blocker.unblock():
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone()[0], "TEST_REPLICA_URL is not a replica"
        yield connections[REPLICA]
        connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


def test_reader_pages_are_served_by_the_replica_and_reservations_written_to_the_primary(replica, client):
    line = StockLineFactory(quantity=3, book=BookFactory(title="Les Voyages de Gulliver"))
    update_index([line.book_id])
    _wait_for_replay()

    with CaptureQueriesContext(replica) as on_replica, CaptureQueriesContext(connections["default"]) as on_primary:
        # A loaded machine may show the replayed rows a moment after the replay position says so.
        for _attempt in range(100):
            search = client.get("/search/", {"q": "gulliver"})
            if "Les Voyages de Gulliver" in search.content.decode():
                break
            time.sleep(0.2)
        book = client.get(line.book.get_absolute_url())
        form = client.get(reverse("reservations:new", args=[line.pk]))
    assert "Les Voyages de Gulliver" in search.content.decode(), _diagnosis(search, line)
    assert reverse("reservations:new", args=[line.pk]) in book.content.decode()
    assert form.status_code == 200
    replica_sql = " ".join(q["sql"] for q in on_replica.captured_queries)
    assert "catalogue_booksearchdocument" in replica_sql and "catalogue_stockline" in replica_sql
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for q in on_replica)
    primary_sql = " ".join(q["sql"] for q in on_primary.captured_queries)
    assert "catalogue_booksearchdocument" not in primary_sql and "catalogue_stockline" not in primary_sql

    token = re.search(r'name="form_token" value="([^"]+)"', form.content.decode()).group(1)
    data = {
        "reader_name": "Jeanne Lecture",
        "reader_email": "jeanne@example.org",
        "reader_phone": "",
        "quantity": "1",
        "note": "",
        "form_token": token,
        "website": "",
    }
    with CaptureQueriesContext(replica) as on_replica:
        response = client.post(reverse("reservations:new", args=[line.pk]), data)
        # Read-your-writes: the reader's next page comes from the primary, whatever the lag.
        own_page = client.get(response.url)
        book_after = client.get(line.book.get_absolute_url())
    assert response.status_code == 302
    assert on_replica.captured_queries == []
    reservation = Reservation.objects.get()
    assert reservation.reference in own_page.content.decode()
    assert ReplicaRoutingMiddleware.COOKIE in response.cookies
    assert book_after.status_code == 200

    # Once the cookie has gone, reader pages read from the replica again, which has the hold by now.
    client.cookies.pop(ReplicaRoutingMiddleware.COOKIE)
    _wait_for_replay()
    with CaptureQueriesContext(replica) as on_replica:
        client.get(line.book.get_absolute_url())
    assert any("catalogue_stockline" in q["sql"] for q in on_replica.captured_queries)
    with replica.cursor() as cursor:
        cursor.execute("SELECT held FROM catalogue_stockline WHERE id = %s", [line.pk])
        assert cursor.fetchone()[0] == 1


def test_admin_and_api_never_read_from_the_replica(replica, admin_client):
    line = StockLineFactory()
    _wait_for_replay()
    with CaptureQueriesContext(replica) as on_replica:
        assert admin_client.get(reverse("admin:catalogue_stockline_changelist")).status_code == 200
        assert admin_client.get(reverse("admin:catalogue_book_change", args=[line.book_id])).status_code == 200
        client_api = admin_client.get("/api/v1/openapi.json")
    assert client_api.status_code == 200
    assert on_replica.captured_queries == []
