import re

import pytest
from django.urls import reverse

from catalogue.models import StockLine
from reservations.models import Reservation
from tests.factories import ShopFactory, StockLineFactory, reserve

pytestmark = pytest.mark.django_db
S = Reservation.Status


def form_data(client, line, **overrides):
    page = client.get(reverse("reservations:new", args=[line.pk]))
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)
    data = {
        "reader_name": "Jeanne Lecture",
        "reader_email": "jeanne@example.org",
        "reader_phone": "",
        "quantity": "1",
        "note": "",
        "form_token": token,
        "website": "",
    }
    data.update(overrides)
    return data


def quantity_choices(page):
    select = re.search(r'<select name="quantity".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="(\d+)"', select)


def test_book_page_offers_to_reserve_where_possible(client):
    line = StockLineFactory(quantity=2)
    no_cc = StockLineFactory(book=line.book, shop=ShopFactory(offers_click_and_collect=False))
    StockLineFactory(book=line.book, quantity=1, held=1)  # all held: not listed
    page = client.get(line.book.get_absolute_url()).content.decode()
    assert reverse("reservations:new", args=[line.pk]) in page
    assert reverse("reservations:new", args=[no_cc.pk]) not in page
    assert page.count("Réserver</a>") + page.count("Réserver<span") == 1


def test_form_asks_what_it_needs_and_says_how_data_is_used(client):
    line = StockLineFactory(quantity=9)
    page = client.get(reverse("reservations:new", args=[line.pk])).content.decode()
    for name in ("reader_name", "reader_email", "reader_phone", "quantity", "note", "form_token", "website"):
        assert f'name="{name}"' in page
    assert quantity_choices(page) == ["1", "2", "3", "4", "5"]
    assert "ne sont ni revendus" in page and "effacés 365 jours après" in page
    small = StockLineFactory(quantity=3, held=1)
    page = client.get(reverse("reservations:new", args=[small.pk])).content.decode()
    assert quantity_choices(page) == ["1", "2"]


def test_form_by_shop_and_isbn(client):
    line = StockLineFactory()
    response = client.get(reverse("reservations:new_for_book", args=[line.shop.slug, line.book.isbn]))
    assert response.status_code == 200 and line.book.title in response.content.decode()
    assert client.get(reverse("reservations:new_for_book", args=["nope", line.book.isbn])).status_code == 404


def test_reserving_redirects_to_the_reader_page_with_the_reference(client, mailbox):
    line = StockLineFactory(quantity=2)
    with mailbox():
        response = client.post(reverse("reservations:new", args=[line.pk]), form_data(client, line, quantity="2"))
    reservation = Reservation.objects.get()
    assert response.status_code == 302 and response.url == reservation.get_reader_url()
    page = client.get(response.url).content.decode()
    assert reservation.reference in page and "Demandée" in page and line.shop.name in page
    line.refresh_from_db()
    assert line.held == 2
    reader_mail = next(m for m in mailbox.outbox if m.to == ["jeanne@example.org"])
    assert reservation.get_reader_absolute_url() in reader_mail.body


def test_double_submission_makes_one_reservation(client):
    line = StockLineFactory(quantity=3)
    data = form_data(client, line)
    url = reverse("reservations:new", args=[line.pk])
    first = client.post(url, data)
    second = client.post(url, data)
    assert Reservation.objects.count() == 1
    assert first.url == second.url
    line.refresh_from_db()
    assert line.held == 1


def test_honeypot_refuses_with_a_message(client):
    line = StockLineFactory()
    response = client.post(reverse("reservations:new", args=[line.pk]), form_data(client, line, website="http://spam"))
    assert response.status_code == 400
    assert "doit rester vide" in response.content.decode()
    assert not Reservation.objects.exists()


def test_last_copy_gone_shows_a_clear_message_and_keeps_the_input(client):
    line = StockLineFactory(quantity=1)
    data = form_data(client, line, reader_name="Zoé")
    StockLine.objects.filter(pk=line.pk).update(held=1)  # someone else was quicker
    response = client.post(reverse("reservations:new", args=[line.pk]), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Plus d&#x27;exemplaire disponible" in body
    assert 'value="Zoé"' in body
    assert not Reservation.objects.exists()


def test_limits_are_explained(client, settings):
    settings.RESERVATIONS_RATE_LIMIT = 1
    line = StockLineFactory(quantity=5)
    url = reverse("reservations:new", args=[line.pk])
    client.post(url, form_data(client, line))
    response = client.post(url, form_data(client, line, reader_email="x@example.org"))
    assert response.status_code == 400 and "Trop de réservations" in response.content.decode()
    settings.RESERVATIONS_RATE_LIMIT = 100
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 1
    response = client.post(url, form_data(client, line))
    assert response.status_code == 400 and "réservations en cours" in response.content.decode()
    assert Reservation.objects.count() == 1


def test_invalid_email_and_quantity_are_reported(client):
    line = StockLineFactory(quantity=2)
    response = client.post(
        reverse("reservations:new", args=[line.pk]), form_data(client, line, reader_email="nope", quantity="3")
    )
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"reader_email", "quantity"}
    assert not Reservation.objects.exists()


def test_reader_page_rejects_forged_and_altered_links(client):
    line = StockLineFactory(quantity=2)
    mine = reserve(line)
    other = reserve(line, reader_email="other@example.org")
    token = mine.reader_token()
    assert client.get(mine.get_reader_url()).status_code == 200
    reference, signature = token.split(":")
    forged = [
        f"{other.reference}:{signature}",
        f"{reference}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        reference,
        other.reference,
        f"{reference}:",
    ]
    for bad in forged:
        assert client.get(reverse("reservations:detail", args=[bad])).status_code == 404, bad
        assert client.post(reverse("reservations:cancel", args=[bad])).status_code == 404, bad
    mine.refresh_from_db()
    assert mine.status == S.REQUESTED


def test_reader_cancels_from_the_page(client, mailbox):
    line = StockLineFactory(quantity=1)
    reservation = reserve(line)
    cancel_url = reverse("reservations:cancel", args=[reservation.reader_token()])
    assert cancel_url in client.get(reservation.get_reader_url()).content.decode()
    # One tap is not enough: the link asks first, and asking changes nothing.
    confirm = client.get(cancel_url)
    assert confirm.status_code == 200 and "Oui, annuler la réservation" in confirm.content.decode()
    assert f'action="{cancel_url}"' in confirm.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == S.REQUESTED
    with mailbox():
        response = client.post(cancel_url, follow=True)
    reservation.refresh_from_db()
    assert reservation.status == S.CANCELLED
    page = response.content.decode()
    assert "Annulée" in page and "Annuler ma réservation" not in page
    line.refresh_from_db()
    assert line.held == 0
    assert len(mailbox.outbox) == 2
    # Cancelling again is refused with a message, nothing changes.
    response = client.post(cancel_url, follow=True)
    assert "ne peut plus passer" in response.content.decode()
    assert reservation.events.filter(to_status=S.CANCELLED).count() == 1


def test_reader_page_shows_history_and_deadline(client):
    from reservations.services import reservation_confirm

    reservation = reserve(StockLineFactory())
    reservation_confirm(reservation=reservation)
    page = client.get(reservation.get_reader_url()).content.decode()
    assert "Prête à retirer" in page and "À retirer avant" in page
    assert page.count("<li>") >= 2


def test_csrf_is_enforced_on_cancel():
    from django.test import Client

    reservation = reserve(StockLineFactory())
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("reservations:cancel", args=[reservation.reader_token()])).status_code == 403
    reservation.refresh_from_db()
    assert reservation.status == S.REQUESTED


def test_english_reader_gets_english_language_recorded(client):
    line = StockLineFactory()
    client.cookies["django_language"] = "en"
    client.post(reverse("reservations:new", args=[line.pk]), form_data(client, line))
    assert Reservation.objects.get().language == "en"


def test_rate_limit_cannot_be_dodged_with_a_forged_header(client, settings):
    settings.RESERVATIONS_RATE_LIMIT = 1
    line = StockLineFactory(quantity=5)
    url = reverse("reservations:new", args=[line.pk])
    client.post(url, form_data(client, line), HTTP_X_REAL_IP="1.1.1.1")
    response = client.post(url, form_data(client, line, reader_email="b@example.org"), HTTP_X_REAL_IP="2.2.2.2")
    assert response.status_code == 400 and "Trop de réservations" in response.content.decode()
    # Behind a proxy that sets the header, each reader is counted on their own.
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    response = client.post(url, form_data(client, line, reader_email="c@example.org"), HTTP_X_REAL_IP="3.3.3.3")
    assert response.status_code == 302
    assert Reservation.objects.count() == 2


def test_behind_a_proxy_the_client_is_the_right_end_of_x_forwarded_for(client, settings):
    settings.RESERVATIONS_RATE_LIMIT = 3
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.CLIENT_IP_TRUSTED_PROXIES = 1
    line = StockLineFactory(quantity=50)
    url = reverse("reservations:new", args=[line.pk])
    statuses = [
        client.post(
            url,
            form_data(client, line, reader_email=f"f{i}@example.org"),
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1, 198.51.100.{i}, 203.0.113.7",
        ).status_code
        for i in range(15)
    ]
    # The left parts change every time (the client wrote them); the proxy's own entry does not.
    assert statuses.count(302) == 3 and statuses.count(400) == 12
    other = client.post(
        url, form_data(client, line, reader_email="g@example.org"), HTTP_X_FORWARDED_FOR="203.0.113.7, 203.0.113.8"
    )
    assert other.status_code == 302
    assert Reservation.objects.count() == 4
