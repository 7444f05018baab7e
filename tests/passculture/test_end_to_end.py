"""A demo shop joins pass Culture: linked by SIRET, its stock pushed, a young reader's booking held and collected."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F

from bookshops.models import Shop
from catalogue.models import StockLine
from demo.services import STAFF_PASSWORD, demo_load
from passculture.models import Booking, SyncRun

from .fake import FakePassCulture

DEMO_SIRET = "38012986600016"


@pytest.mark.django_db(transaction=True)
def test_a_demo_shop_pushes_its_stock_and_receives_a_booking(fake: FakePassCulture, live_server, client):
    demo_load(books=60)
    shop = Shop.objects.get(town="Bayonne")
    # The association sets the shop's SIRET and switches pass Culture on (admin, Librairies → the shop).
    Shop.objects.filter(pk=shop.pk).update(siret=DEMO_SIRET, passculture_enabled=True)
    fake.venues.append({"id": 8101, "siret": DEMO_SIRET, "name": shop.name})

    out = io.StringIO()
    call_command("passculture_venues", notification_url=f"{live_server.url}/passculture/notifications", stdout=out)
    assert f"relié : {shop.slug} → lieu 8101" in out.getvalue()
    assert fake.notification_url == f"{live_server.url}/passculture/notifications"

    call_command("passculture_sync", shop.slug, stdout=out)
    run = SyncRun.objects.get(shop=shop, kind=SyncRun.Kind.FULL)
    lines = StockLine.objects.filter(shop=shop, quantity__gt=0, price__isnull=False)
    assert run.status == SyncRun.Status.OK and run.sent_count == lines.count() > 0
    offered = {ean: offer for (venue, ean), offer in fake.offers.items() if venue == 8101}
    for line in lines.select_related("book"):
        offer = offered[line.book.isbn]
        assert (offer["quantity"], offer["price"]) == (max(line.quantity - line.held, 0), int(line.price * 100))

    line = lines.filter(quantity__gt=F("held")).select_related("book").first()
    held_before = line.held
    booking = fake.book(venue_id=8101, ean=line.book.isbn)  # posts the signed notification to the portal
    record = Booking.objects.get(passculture_id=booking["id"])
    assert record.state == Booking.State.HELD and record.shop == shop
    line.refresh_from_db()
    assert line.held == held_before + 1
    assert fake.offers[(8101, line.book.isbn)]["quantity"] == line.quantity - line.held  # pushed after the hold

    # The young reader comes to the shop; the bookseller types the countermark.
    bookseller = get_user_model().objects.get(username=shop.slug)
    assert bookseller.check_password(STAFF_PASSWORD)  # the demo's account, as the README gives it
    client.force_login(bookseller)  # the login page itself goes through django-axes (tests/test_accounts.py)
    response = client.post("/admin/passculture/booking/countermark/", {"token": booking["token"]}, follow=True)
    assert "Contremarque validée" in response.text
    record.refresh_from_db()
    assert record.state == Booking.State.USED and fake.bookings[booking["id"]]["status"] == "USED"
    on_shelf = line.quantity
    line.refresh_from_db()
    assert (line.quantity, line.held) == (on_shelf - 1, held_before)
    assert client.get("/admin/passculture/syncrun/").status_code == 200
