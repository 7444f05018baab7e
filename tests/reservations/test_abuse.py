"""Limits on reservations: the one-time form token, booksellers booking for customers, the shared rate limit."""

import re
import time

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.urls import reverse

from portal.ratelimit import ratelimit_take
from reservations.exceptions import (
    ColleagueLineLimit,
    FormAlreadyUsed,
    InsufficientStock,
    RateLimited,
    StaffRateLimited,
    TooManyActiveReservations,
)
from reservations.models import Reservation
from reservations.services import reservation_cancel
from tests.factories import ShopFactory, StockLineFactory, reserve, staff_member

pytestmark = pytest.mark.django_db


# --- The form token only deduplicates ---------------------------------------------


def test_a_replay_of_the_same_form_returns_the_first_reservation():
    line = StockLineFactory(quantity=1)
    first = reserve(line, form_token="tok-same")
    # The copy is now held: the replay fails to hold it again, and finds its own reservation.
    assert reserve(line, form_token="tok-same").pk == first.pk
    assert reserve(line, form_token="tok-same", reader_email=" JEANNE@example.org ").pk == first.pk
    assert Reservation.objects.count() == 1


def test_a_known_token_for_another_email_is_not_a_key_to_the_reservation():
    line = StockLineFactory(quantity=5)
    first = reserve(line, form_token="tok-leaked")
    with pytest.raises(FormAlreadyUsed):
        reserve(line, form_token="tok-leaked", reader_email="intruder@example.org")
    assert Reservation.objects.count() == 1 and Reservation.objects.get().pk == first.pk


def test_a_known_token_from_another_line_is_not_a_key_either():
    line = StockLineFactory(quantity=1)
    reserve(line, form_token="tok-leaked")
    empty = StockLineFactory(quantity=1, held=1)  # a failing submission elsewhere, same e-mail
    with pytest.raises(InsufficientStock):
        reserve(empty, form_token="tok-leaked")
    other = StockLineFactory(quantity=3, book=line.book)  # same book, another shop
    with pytest.raises(FormAlreadyUsed):
        reserve(other, form_token="tok-leaked")


def test_a_known_token_after_a_refusal_is_not_a_key(settings):
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 1
    line = StockLineFactory(quantity=5)
    reserve(line, form_token="tok-a", reader_email="a@example.org")
    reserve(line, form_token="tok-b", reader_email="b@example.org")
    # a@ is at its cap: its failing submission carrying b@'s token must not land on b@'s reservation.
    with pytest.raises(TooManyActiveReservations):
        reserve(line, form_token="tok-b", reader_email="a@example.org")


def test_the_reader_view_never_redirects_to_someone_elses_reservation(client):
    line = StockLineFactory(quantity=5)
    victim = reserve(line, form_token="tok-victim", reader_email="victim@example.org")
    url = reverse("reservations:new", args=[line.pk])
    data = {
        "reader_name": "X",
        "reader_email": "x@example.org",
        "quantity": "1",
        "form_token": "tok-victim",
        "reader_phone": "",
        "note": "",
        "website": "",
    }
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Ce formulaire a déjà servi" in html
    assert victim.get_reader_url() not in html and victim.reference not in html
    # The same form sent again by its own reader still finds the reservation.
    again = client.post(url, {**data, "reader_email": "victim@example.org"})
    assert again.status_code == 302 and again.url == victim.get_reader_url()


# --- Booksellers booking for customers at colleagues' shops --------------------------


@pytest.fixture
def colleague():
    origin = ShopFactory(name="Chez nous")
    line = StockLineFactory(quantity=40, shop__name="Chez le confrère")
    return {"origin": origin, "line": line, "user": staff_member(origin)}


def _for_customer(colleague, n, **kwargs):
    values = {
        "quantity": 1,
        "reader_email": f"client{n}@example.org",
        "referred_by_shop": colleague["origin"],
        "user": colleague["user"],
    }
    values.update(kwargs)
    return reserve(colleague["line"], **values)


def test_one_shop_cannot_hold_a_colleagues_whole_stock(colleague, settings):
    settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = 5
    _for_customer(colleague, 1, quantity=5)
    with pytest.raises(ColleagueLineLimit) as refused:
        _for_customer(colleague, 2, quantity=1)
    assert "déjà 5 exemplaire(s)" in str(refused.value.message)
    line = colleague["line"]
    line.refresh_from_db()
    assert line.held == 5
    # Another shop's staff have their own allowance on that line.
    other = ShopFactory()
    reserve(line, quantity=2, reader_email="z@example.org", referred_by_shop=other, user=staff_member(other))
    # Copies come back into the allowance once the customer's reservation closes.
    reservation_cancel(
        reservation=Reservation.objects.filter(referred_by_shop=colleague["origin"]).get(),
        reason="le client a trouvé ailleurs",
    )
    _for_customer(colleague, 3, quantity=5)


def test_a_bookseller_is_rate_limited_per_user(colleague, settings):
    settings.RESERVATIONS_STAFF_RATE_LIMIT = 3
    settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = 100
    for n in range(3):
        _for_customer(colleague, n)
    with pytest.raises(StaffRateLimited) as refused:
        _for_customer(colleague, 9)
    assert "réessayez dans 60 minutes" in str(refused.value.message)
    # A colleague at the same counter has their own count; readers are not affected.
    _for_customer(colleague, 10, user=staff_member(colleague["origin"]))
    reserve(colleague["line"], reader_email="reader@example.org", client="192.0.2.1")


def test_the_admin_page_says_why_a_staff_booking_is_refused(client, colleague, settings):
    settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = 2
    client.force_login(colleague["user"])
    url = reverse("admin:reservations_colleague_reserve", kwargs={"line_id": colleague["line"].pk})
    data = {"origin": colleague["origin"].pk, "reader_name": "Client", "reader_phone": ""}

    def token():
        return re.search(r'name="form_token" value="([^"]+)"', client.get(url).content.decode()).group(1)

    ok = client.post(url, {**data, "quantity": "2", "reader_email": "c1@example.org", "form_token": token()})
    assert ok.status_code == 302
    refused = client.post(url, {**data, "quantity": "1", "reader_email": "c2@example.org", "form_token": token()})
    assert refused.status_code == 400
    assert "au plus peuvent l&#x27;être à la fois pour vos clients" in refused.content.decode()
    assert Reservation.objects.count() == 1


# --- The shared limiter --------------------------------------------------------------


def test_slots_are_counted_in_the_shared_database_cache(db_cache):
    assert [ratelimit_take(key="k", limit=3, window=60) for _ in range(5)] == [True, True, True, False, False]
    assert ratelimit_take(key="other", limit=3, window=60)
    # Another worker has its own memory but the same database: it sees the same count.
    other_worker = DatabaseCache("test_portal_cache", {})
    assert other_worker.get(f"ratelimit:k:{_window(60)}:2") == 1


def _window(seconds):
    return int(time.time() // seconds)


def test_reader_rate_limit_through_the_database_cache(db_cache, settings):
    settings.RESERVATIONS_RATE_LIMIT = 2
    line = StockLineFactory(quantity=10)
    reserve(line, reader_email="a@example.org", client="192.0.2.9")
    reserve(line, reader_email="b@example.org", client="192.0.2.9")
    with pytest.raises(RateLimited):
        reserve(line, reader_email="c@example.org", client="192.0.2.9")
