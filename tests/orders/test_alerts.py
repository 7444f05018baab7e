"""« Prévenez-moi » : double opt-in, fired once by any change that brings a copy within reach, then done."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bookshops.geo import distance_km
from bookshops.location import ReaderLocation
from catalogue.stock.snapshots import stock_import
from orders import services
from orders.exceptions import AlertNotPossible
from orders.models import Alert
from reservations.services import reservation_cancel, reservation_move_to_shop
from tests.factories import BookFactory, ShopFactory, StockLineFactory, reserve

pytestmark = pytest.mark.django_db

BAYONNE = ReaderLocation(lat=43.4929, lon=-1.4748, label="Bayonne", radius_km=30)
PERIGUEUX = {"latitude": 45.1847, "longitude": 0.7214, "town": "Périgueux", "postcode": "24000", "department": "24"}
BIARRITZ = {"latitude": 43.4832, "longitude": -1.5586, "town": "Biarritz", "postcode": "64200", "department": "64"}


def confirmed_alert(mailbox, book, **kwargs) -> Alert:
    kwargs.setdefault("location", BAYONNE)
    with mailbox():
        alert = services.alert_request(book=book, reader_email="lea@example.org", **kwargs)
    token = re.search(r"/orders/alerts/confirm/(\S+)/", mail.outbox[-1].body).group(1)
    with mailbox():
        services.alert_confirm(token=token)
    alert.refresh_from_db()
    return alert


def available_mails():
    return [m for m in mail.outbox if "disponible près de chez vous" in m.subject]


def test_an_alert_needs_confirming_and_then_fires_once_on_a_stock_file(mailbox):
    book = BookFactory(title="Le Pays basque")
    StockLineFactory(book=book, shop=ShopFactory(**PERIGUEUX))  # far away: does not count
    bayonne_shop = ShopFactory(name="Librairie du Port", latitude=43.4933, longitude=-1.4753, town="Bayonne")
    with mailbox():
        alert = services.alert_request(book=book, reader_email="Lea@Example.org", location=BAYONNE)
    [confirm] = mail.outbox
    assert "Confirmez" in confirm.subject and "List-Unsubscribe" in confirm.extra_headers
    # Not confirmed yet: a copy arriving fires nothing.
    with mailbox():
        stock_import(shop=bayonne_shop, data=f"EAN;Qté\r\n{book.isbn};1\r\n".encode(), partial=True)
    assert available_mails() == []
    token = re.search(r"/orders/alerts/confirm/(\S+)/", confirm.body).group(1)
    with mailbox():
        services.alert_confirm(token=token)  # a copy is already near: fires at once
    [available] = available_mails()
    assert "Librairie du Port" in available.body and "Périgueux" not in available.body
    assert "/reservations/new/" in available.body and "moins d'un km" in available.body
    alert.refresh_from_db()
    assert alert.fulfilled_at is not None
    with mailbox():
        stock_import(shop=bayonne_shop, data=f"EAN;Qté\r\n{book.isbn};3\r\n".encode(), partial=True)
    assert len(available_mails()) == 1  # once only


@pytest.mark.parametrize("how", ["snapshot", "patch", "cancelled reservation", "colleague move"])
def test_every_kind_of_change_that_frees_a_copy_fires_it(mailbox, how):
    book = BookFactory()
    near = ShopFactory(**BIARRITZ)
    line = StockLineFactory(book=book, shop=near, quantity=1)
    far = StockLineFactory(book=book, shop=ShopFactory(**PERIGUEUX), quantity=1)
    with mailbox():
        held = reserve(line)  # the only near copy is held
    confirmed_alert(mailbox, book)
    assert available_mails() == []
    with mailbox():
        if how == "snapshot":
            stock_import(shop=near, data=f"EAN;Qté\r\n{book.isbn};2\r\n".encode())
        elif how == "patch":
            stock_import(shop=near, data=f"EAN;Qté\r\n{book.isbn};2\r\n".encode(), partial=True)
        elif how == "cancelled reservation":
            reservation_cancel(reservation=held, reason="", by_reader=True)
        else:  # the near shop sends its customer to a colleague far away: its copy is free again
            reservation_move_to_shop(reservation=held, shop=far.shop)
    assert len(available_mails()) == 1


def test_the_radius_edge_and_a_chosen_shop(mailbox):
    book = BookFactory()
    inside = ShopFactory(latitude=43.4929 + 0.26, longitude=-1.4748, town="Dax")  # about 28.9 km north
    outside = ShopFactory(latitude=43.4929 + 0.28, longitude=-1.4748, town="Plus loin")  # about 31.1 km
    assert (
        distance_km(43.4929, -1.4748, inside.latitude, inside.longitude)
        < 30
        < distance_km(43.4929, -1.4748, outside.latitude, outside.longitude)
    )
    confirmed_alert(mailbox, book)
    with mailbox():
        stock_import(shop=outside, data=f"EAN;Qté\r\n{book.isbn};1\r\n".encode())
    assert available_mails() == []
    with mailbox():
        stock_import(shop=inside, data=f"EAN;Qté\r\n{book.isbn};1\r\n".encode())
    assert len(available_mails()) == 1

    other_book = BookFactory()
    chosen = ShopFactory(**PERIGUEUX)
    with mailbox():
        alert = services.alert_request(book=other_book, reader_email="paul@example.org", shop=chosen)
    with mailbox():
        services.alert_confirm(token=re.search(r"/orders/alerts/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    with mailbox():
        stock_import(shop=inside, data=f"EAN;Qté\r\n{other_book.isbn};1\r\n".encode(), partial=True)
    alert.refresh_from_db()
    assert alert.fulfilled_at is None  # not the chosen shop, however close
    with mailbox():
        stock_import(shop=chosen, data=f"EAN;Qté\r\n{other_book.isbn};1\r\n".encode(), partial=True)
    alert.refresh_from_db()
    assert alert.fulfilled_at is not None


def test_one_open_alert_per_address_and_book_and_unsubscribe(client, mailbox):
    book = BookFactory()
    alert = confirmed_alert(mailbox, book)
    with mailbox():
        again = services.alert_request(book=book, reader_email="LEA@example.org", location=BAYONNE)
    assert again.pk == alert.pk and Alert.objects.count() == 1
    token = re.search(r"/orders/alerts/unsubscribe/(\S+)/", mail.outbox[0].body).group(1)
    assert client.get(reverse("orders:alert_unsubscribe", args=[token])).status_code == 200
    alert.refresh_from_db()
    assert alert.unsubscribed_at is None  # a GET (a mail scanner) changes nothing
    assert client.post(reverse("orders:alert_unsubscribe", args=[token])).status_code == 302
    alert.refresh_from_db()
    assert alert.unsubscribed_at is not None
    with mailbox():
        stock_import(shop=ShopFactory(**BIARRITZ), data=f"EAN;Qté\r\n{book.isbn};1\r\n".encode())
    assert available_mails() == []
    assert client.post(reverse("orders:alert_unsubscribe", args=["1:forged"])).status_code == 400
    with pytest.raises(AlertNotPossible):
        services.alert_request(book=book, reader_email="x@example.org")  # neither a place nor a shop


def test_alerts_expire_with_a_notice(settings, mailbox):
    book = BookFactory()
    alert = confirmed_alert(mailbox, book)
    later = alert.expires_at + datetime.timedelta(minutes=1)
    with mailbox():
        assert services.alerts_expire_due(now=later) == 1
        assert services.alerts_expire_due(now=later) == 0
    assert any("a pris fin" in m.subject for m in mail.outbox)
    alert.refresh_from_db()
    assert alert.expired_at is not None
    with mailbox():
        assert services.alerts_match(book_ids=[book.pk], now=later) == 0


def test_the_book_page_offers_ordering_and_alerts_when_no_shop_near_holds_it(client):
    book = BookFactory()
    StockLineFactory(book=book, shop=ShopFactory(**PERIGUEUX))
    page = client.get(book.get_absolute_url(), {"near": "64100"}).content.decode()
    assert reverse("orders:new", args=[book.isbn]) in page
    assert reverse("orders:alert_new", args=[book.isbn]) in page
    near = BookFactory()
    StockLineFactory(book=near, shop=ShopFactory(**BIARRITZ))
    page = client.get(near.get_absolute_url(), {"near": "64100"}).content.decode()
    assert reverse("orders:new", args=[near.isbn]) not in page
    out_of_print = BookFactory(availability="out_of_print")
    page = client.get(out_of_print.get_absolute_url()).content.decode()
    assert reverse("orders:new", args=[out_of_print.isbn]) not in page and "épuisé" in page
    assert reverse("orders:alert_new", args=[out_of_print.isbn]) in page


def test_the_alert_form_uses_the_readers_location(client, mailbox):
    book = BookFactory()
    page = client.get(reverse("orders:alert_new", args=[book.isbn]), {"near": "64100"}).content.decode()
    assert "près de Bayonne" in page
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    with mailbox():
        response = client.post(
            reverse("orders:alert_new", args=[book.isbn]),
            {"reader_email": "lea@example.org", "where": "near", "form_token": token},
        )
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert alert.place.startswith("Bayonne") and alert.radius_km == 30 and alert.confirmed_at is None
    bad = client.post(
        reverse("orders:alert_new", args=[book.isbn]),
        {"reader_email": "lea@example.org", "where": "shop:99999", "form_token": token},
    )
    assert bad.status_code == 400


def test_matching_reads_a_fixed_number_of_queries_whatever_the_alerts(django_assert_max_num_queries, mailbox):
    book = BookFactory()
    now = timezone.now()
    Alert.objects.bulk_create(
        Alert(
            book=book,
            reader_email=f"r{i}@example.org",
            latitude=45.0 + i / 1000,
            longitude=0.7,
            radius_km=10,
            confirmed_at=now,
            expires_at=now + datetime.timedelta(days=10),
        )
        for i in range(200)
    )
    StockLineFactory(book=book, shop=ShopFactory(latitude=60.0, longitude=10.0))  # near nobody
    with django_assert_max_num_queries(3):
        assert services.alerts_match(book_ids=[book.pk]) == 0
