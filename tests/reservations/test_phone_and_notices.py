"""Phone-only reservations at the counter, the shop's e-mail linking to the admin, and the daily digest."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookshops.models import Shop
from reservations import services
from reservations.digest import reservations_digest_send
from reservations.exceptions import ContactRequired, TooManyActiveReservations
from reservations.models import OutgoingEmail, Reservation
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory, reserve, staff_member

pytestmark = pytest.mark.django_db


def test_a_phone_only_reservation_sends_no_reader_email_and_the_shop_is_told_to_call(mailbox):
    line = StockLineFactory(quantity=3)
    with mailbox():
        reservation = reserve(line, reader_email="", reader_phone="06 11 22 33 44")
        services.reservation_confirm(reservation=reservation)
    assert reservation.reader_email == "" and reservation.reader_phone == "0611223344"
    (to_shop,) = mailbox.outbox
    assert to_shop.to == [line.shop.email] and "appelez le lecteur" in to_shop.body
    assert not OutgoingEmail.objects.exclude(to=line.shop.email).exists()


def test_a_reservation_needs_an_email_or_a_phone():
    line = StockLineFactory(quantity=3)
    with pytest.raises(ContactRequired):
        reserve(line, reader_email="  ", reader_phone=" ")
    line.refresh_from_db()
    assert line.held == 0 and not Reservation.objects.exists()


def test_the_per_reader_cap_counts_a_phone_number_however_it_is_written(settings):
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 2
    line = StockLineFactory(quantity=10)
    reserve(line, reader_email="", reader_phone="06 11 22 33 44")
    reserve(line, reader_email="", reader_phone="06.11.22.33.44")
    with pytest.raises(TooManyActiveReservations) as error:
        reserve(line, reader_email="", reader_phone="0611223344")
    assert "numéro de téléphone" in str(error.value.message)
    reserve(line, reader_email="", reader_phone="05 56 00 00 00")  # another number
    reserve(line, reader_email="a@example.org", reader_phone="0611223344")  # e-mail readers count by address
    line.refresh_from_db()
    assert line.held == 4


def test_a_bookseller_reserves_at_a_colleagues_for_a_customer_with_a_phone_only(client, mailbox):
    mine, theirs = ShopFactory(), ShopFactory()
    line = StockLineFactory(shop=theirs, quantity=2)
    client.force_login(staff_member(mine))
    url = reverse("admin:reservations_colleague_reserve", args=[line.pk]) + f"?origin={mine.pk}"
    token = client.get(url).context["form"].initial["form_token"]
    data = {
        "reader_name": "Paul Client",
        "reader_email": "",
        "reader_phone": "",
        "quantity": "1",
        "form_token": token,
        "origin": mine.pk,
    }
    neither = client.post(url, data)
    assert neither.status_code == 400 and "un des deux suffit" in neither.content.decode()
    assert not Reservation.objects.exists()
    with mailbox():
        done = client.post(url, {**data, "reader_phone": "06 99 88 77 66"}, follow=True)
    assert "appellera le client" in done.content.decode()
    reservation = Reservation.objects.get()
    assert (reservation.reader_email, reservation.reader_phone) == ("", "0699887766")
    assert [m.to for m in mailbox.outbox] == [[theirs.email]]


def test_the_shops_email_links_to_the_reservation_in_the_admin(client, settings, mailbox):
    settings.RESERVATIONS_LINK_BASE_URL = "https://libraires.example"
    line = StockLineFactory(quantity=2)
    with mailbox():
        reservation = reserve(line)
    (to_shop,) = [m for m in mailbox.outbox if m.to == [line.shop.email]]
    link = f"https://libraires.example/admin/reservations/reservation/by-reference/{reservation.reference}/"
    assert link in to_shop.body and f'href="{link}"' in to_shop.alternatives[0][0]
    path = link.removeprefix("https://libraires.example")
    client.force_login(staff_member(line.shop))
    response = client.get(path)
    assert response.url == reverse("admin:reservations_reservation_change", args=[reservation.pk])
    client.force_login(staff_member(ShopFactory()))  # another shop's bookseller
    assert client.get(path).status_code == 404


def test_a_digest_only_shop_gets_no_email_per_reservation_but_one_digest_a_day(mailbox):
    digest = ShopFactory(name="Librairie Récap", reservation_notices=Shop.ReservationNotices.DIGEST)
    both = ShopFactory(name="Librairie Les Deux", reservation_notices=Shop.ReservationNotices.BOTH)
    each = ShopFactory(name="Librairie Chaque")
    book = BookFactory(title="Le Lièvre de Vatanen")
    ContributorFactory(book=book)
    with mailbox():
        for shop in (digest, both, each):
            reserve(StockLineFactory(shop=shop, book=book, quantity=3), reader_name="Jeanne Lecture")
        reserve(StockLineFactory(shop=digest, quantity=3), reader_name="Paul Second", reader_email="p@example.org")
    assert mailbox.kinds_to(digest.email) == []
    assert len(mailbox.kinds_to(both.email)) == 1 and len(mailbox.kinds_to(each.email)) == 1
    now = timezone.now()
    with mailbox():
        assert reservations_digest_send(now=now) == 2
        assert reservations_digest_send(now=now + datetime.timedelta(minutes=5)) == 0  # once a day
    (mail,) = [m for m in mailbox.outbox if m.to == [digest.email]]
    assert mail.subject == "2 réservations à mettre de côté — Librairie Récap"
    assert "Le Lièvre de Vatanen" in mail.body and "Paul Second" in mail.body
    assert re.search(r"https?://\S+/admin/reservations/reservation/by-reference/\w+/", mail.body)
    assert "/admin/reservations/reservation/counter/" in mail.body
    digests = [m for m in mailbox.outbox if "à mettre de côté —" in m.subject]
    assert sorted(m.to[0] for m in digests) == sorted([digest.email, both.email])  # none for "each"
    # The next day, only what is still to set aside.
    Reservation.objects.filter(shop=digest, reader_name="Paul Second").update(status=Reservation.Status.CANCELLED)
    with mailbox():
        call_command("send_reservation_digest", stdout=open("/dev/null", "w"))
    assert len([m for m in mailbox.outbox if m.to == [digest.email]]) == 1  # the same day: nothing more
    with mailbox():
        assert reservations_digest_send(now=now + datetime.timedelta(days=1)) == 2
    latest = [m for m in mailbox.outbox if m.to == [digest.email]][-1]
    assert latest.subject.startswith("1 réservation à mettre") and "Paul Second" not in latest.body
