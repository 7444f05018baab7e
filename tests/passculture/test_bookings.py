"""pass Culture bookings: they hold copies like reservations, are released on cancellation, taken on collection."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from catalogue.exceptions import InsufficientStock
from catalogue.models import StockLine
from passculture.models import Booking, SyncRun
from passculture.services import booking_record, bookings_sync, stock_push
from reservations.models import Reservation
from tests.factories import ShopFactory, StockLineFactory, make_isbn, reserve, staff_member

from .conftest import VENUE_ID

pytestmark = pytest.mark.django_db

NOTIFY = "/passculture/notifications"
ISBN = make_isbn(42)


@pytest.fixture
def line(fake, shop):
    """Two copies of a book, pushed to pass Culture (so young readers can book them)."""
    line = StockLineFactory(shop=shop, book__isbn=ISBN, quantity=2, price=Decimal("15.50"))
    stock_push(shop_id=shop.pk, full=True)
    return line


def notify(client, fake, booking, action="BOOK", signature=None):
    body, good = fake.notification_body(booking, action)
    return client.post(
        NOTIFY,
        body,
        content_type="application/json",
        headers={"PassCulture-Signature": signature if signature is not None else good},
    )


def last_pushed(fake, ean=ISBN):
    stocks = [
        p["stock"]
        for c in fake.calls("POST", "/public/offers/v1/products/ean")
        for p in c.body["products"]
        if p["ean"] == ean
    ]
    return stocks[-1]


def test_a_notified_booking_holds_the_copy_and_the_new_quantity_is_pushed(fake, shop, line, client, after_commit):
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    with after_commit():
        response = notify(client, fake, booking)
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    record = Booking.objects.get()
    assert (record.passculture_id, record.state, record.quantity, record.price_cents) == (
        booking["id"],
        Booking.State.HELD,
        1,
        1550,
    )
    line.refresh_from_db()
    assert line.held == 1
    assert last_pushed(fake) == {"price": 1550, "quantity": 1}
    # the same notification again (pass Culture retries) holds nothing more
    with after_commit():
        notify(client, fake, booking)
    line.refresh_from_db()
    assert line.held == 1 and Booking.objects.count() == 1


@pytest.mark.parametrize("signature", ["", "0" * 64, "bad"])
def test_a_notification_without_the_right_signature_is_refused_and_changes_nothing(
    fake, shop, line, client, signature, after_commit
):
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    with after_commit():
        response = notify(client, fake, booking, signature=signature)
    assert response.status_code == 403
    assert not Booking.objects.exists() and StockLine.objects.get(pk=line.pk).held == 0


@pytest.mark.parametrize("body", [b"", b"{", b'"not json inside"', b"[1, 2]", b'{"offer_id": "7"}', b"\xff\xfe"])
def test_malformed_notifications_are_400(fake, shop, client, body, settings):
    import hashlib
    import hmac

    signature = hmac.new(settings.PASSCULTURE_HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(NOTIFY, body, content_type="application/json", headers={"PassCulture-Signature": signature})
    assert response.status_code in (400, 403)
    assert client.get(NOTIFY).status_code == 405


def test_a_notification_for_a_venue_that_is_not_a_members_is_ignored(fake, shop, line, client, after_commit):
    shop.passculture_enabled = False
    shop.save()
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    with after_commit():
        response = notify(client, fake, booking)
    assert response.json() == {"status": "ignored"} and not Booking.objects.exists()


def test_cancellation_and_expiry_release_the_copy(fake, shop, line, client, after_commit):
    first = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    second = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    with after_commit():
        notify(client, fake, first)
    assert StockLine.objects.get(pk=line.pk).held == 2  # both read with the offer's bookings
    fake.cancel(first["id"], notify=False)
    with after_commit():
        notify(client, fake, first, action="CANCEL")
    assert Booking.objects.get(passculture_id=first["id"]).state == Booking.State.CANCELLED
    assert StockLine.objects.get(pk=line.pk).held == 1
    # an expired booking is cancelled by pass Culture; no notification arrives: the listing catches it
    fake.cancel(second["id"], notify=False)
    run = bookings_sync(shop_id=shop.pk)
    assert run.status == SyncRun.Status.OK
    assert Booking.objects.get(passculture_id=second["id"]).state == Booking.State.CANCELLED
    line.refresh_from_db()
    assert (line.quantity, line.held) == (2, 0)


def test_the_periodic_listing_catches_a_booking_whose_notification_was_lost(fake, shop, line):
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    run = bookings_sync(shop_id=shop.pk)
    assert Booking.objects.get().passculture_id == booking["id"]
    assert StockLine.objects.get(pk=line.pk).held == 1
    assert "1 ouvertes avec leur exemplaire mis de côté" in run.message
    # every few minutes: only the offers with open bookings are re-read (was it collected, cancelled?)
    fake.received.clear()
    fake.bookings[booking["id"]]["status"] = "USED"  # validated on pass Culture Pro
    run = bookings_sync(shop_id=shop.pk, full=False)
    assert [c.path for c in fake.received] == ["/public/bookings/v1/bookings"] and run.requests_count == 1
    line.refresh_from_db()
    assert (line.quantity, line.held) == (1, 0)
    assert Booking.objects.get().state == Booking.State.USED


def test_a_booking_with_no_free_copy_is_kept_apart_and_the_shop_pushed_at_zero(fake, shop, line, after_commit):
    reserve(line, quantity=2)  # the portal's readers took both copies; pass Culture does not know yet
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    with after_commit():
        bookings_sync(shop_id=shop.pk)
    record = Booking.objects.get(passculture_id=booking["id"])
    assert record.state == Booking.State.NO_COPY
    line.refresh_from_db()
    assert line.held == 2
    assert last_pushed(fake)["quantity"] == 0


def test_countermark_validation_from_the_admin(fake, shop, line, client, after_commit):
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    bookings_sync(shop_id=shop.pk)
    bookseller = staff_member(
        shop,
        perms=(
            "passculture.view_booking",
            "passculture.change_booking",
            "reservations.view_reservation",
            "reservations.change_reservation",
        ),
    )
    client.force_login(bookseller)
    url = "/admin/passculture/booking/countermark/"
    assert f'href="{url}"' in client.get("/admin/reservations/reservation/counter/").text  # from the counter
    page = client.get(url)
    assert page.status_code == 200 and "Contremarque" in page.text
    with after_commit():
        response = client.post(url, {"token": booking["token"].lower()})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "Contremarque validée" in page.text and 'name="_save"' not in page.text  # read-only
    record = Booking.objects.get()
    assert record.state == Booking.State.USED and record.passculture_status == "USED"
    assert fake.calls("PATCH", f"/public/bookings/v1/use/token/{booking['token']}")
    line.refresh_from_db()
    assert (line.quantity, line.held) == (1, 0)  # the copy left the shelf
    # twice: pass Culture answers 410, the bookseller is told, nothing moves
    response = client.post(url, {"token": booking["token"]})
    assert response.status_code == 200 and "déjà été validée ou annulée" in response.text
    response = client.post(url, {"token": "ZZZZZZ"})
    assert "Contremarque inconnue" in response.text
    response = client.post(url, {"token": "<script>"})
    assert "6 lettres ou chiffres" in response.text
    line.refresh_from_db()
    assert (line.quantity, line.held) == (1, 0)


def test_a_countermark_of_another_shops_venue_is_refused(fake, shop, line, client):
    other = ShopFactory(slug="autre", passculture_venue_id=7002, passculture_enabled=True)
    booking = fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    client.force_login(staff_member(other, perms=("passculture.view_booking", "passculture.change_booking")))
    response = client.post("/admin/passculture/booking/countermark/", {"token": booking["token"]})
    assert "un autre lieu que vos librairies" in response.text
    assert not fake.calls("PATCH", f"/public/bookings/v1/use/token/{booking['token']}")
    assert fake.bookings[booking["id"]]["status"] == "CONFIRMED"


def test_a_shop_sees_only_its_own_runs_and_bookings(fake, shop, line, client):
    other = ShopFactory(slug="autre", passculture_venue_id=7002, passculture_enabled=True)
    stock_push(shop_id=other.pk, full=True)
    fake.book(venue_id=VENUE_ID, ean=ISBN, notify=False)
    bookings_sync(shop_id=shop.pk)
    client.force_login(staff_member(other, perms=("passculture.view_booking", "passculture.view_syncrun")))
    runs = client.get("/admin/passculture/syncrun/")
    assert runs.status_code == 200 and other.name in runs.text
    assert runs.context["cl"].result_count == SyncRun.objects.filter(shop=other).count() == 1
    assert client.get("/admin/passculture/booking/").context["cl"].result_count == 0
    mine = SyncRun.objects.filter(shop=shop).first()
    assert client.get(f"/admin/passculture/syncrun/{mine.pk}/change/").status_code == 302  # not found for them


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_copy_goes_to_exactly_one_of_a_pass_culture_booking_and_a_portal_reservation(fake):
    assert connection.vendor == "postgresql"
    shop = ShopFactory(slug="mollat", siret="41234567800012", passculture_venue_id=VENUE_ID, passculture_enabled=True)
    for round_ in range(10):
        line = StockLineFactory(shop=shop, book__isbn=make_isbn(900 + round_), quantity=1, price=Decimal("9"))
        data = {
            "id": 90000 + round_,
            "status": "CONFIRMED",
            "quantity": 1,
            "offerId": 1,
            "offerEan": line.book.isbn,
            "venueId": VENUE_ID,
            "price": 900,
            "creationDate": "2026-01-01T10:00:00Z",
        }
        barrier, outcomes = threading.Barrier(2), {}

        def booking():
            try:
                barrier.wait()
                outcomes["booking"] = booking_record(data=data).state
            finally:
                connections.close_all()

        def reservation():
            try:
                barrier.wait()
                try:
                    reserve(line, reader_email=f"r{round_}@example.org")
                    outcomes["reservation"] = "ok"
                except InsufficientStock:
                    outcomes["reservation"] = "refused"
            finally:
                connections.close_all()

        threads = [threading.Thread(target=booking), threading.Thread(target=reservation)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        line = StockLine.objects.get(pk=line.pk)
        assert line.held == 1, outcomes
        assert (outcomes["booking"] == Booking.State.HELD) != (outcomes["reservation"] == "ok"), outcomes
        assert Reservation.objects.filter(book=line.book).count() == (outcomes["reservation"] == "ok")
