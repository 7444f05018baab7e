"""The pause switch, on every path that creates a reservation."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from catalogue.models import StockLine
from reservations import services
from reservations.exceptions import ReservationsPaused
from reservations.models import Reservation, ReservationPause
from reservations.pauses import pauses_changed
from tests.factories import StockLineFactory, UserFactory, reserve, staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops():
    line = StockLineFactory(quantity=3, shop__name="Librairie Mollat")
    other = StockLineFactory(quantity=3, book=line.book, shop__name="Librairie Campus")
    return line, other


def pause(shop=None, days=3, **kwargs):
    now = timezone.now()
    created = ReservationPause.objects.create(
        shop=shop,
        starts_at=kwargs.pop("starts_at", now - datetime.timedelta(hours=1)),
        ends_at=kwargs.pop("ends_at", now + datetime.timedelta(days=days)),
        message="Inventaire annuel",
        **kwargs,
    )
    pauses_changed()
    return created


@pytest.mark.parametrize("network", [True, False])
def test_service_refuses_while_paused_and_nothing_is_held(two_shops, network):
    line, other = two_shops
    pause(None if network else line.shop)
    with pytest.raises(ReservationsPaused) as refused:
        reserve(line)
    assert "Inventaire annuel" in refused.value.message
    assert ("tout le réseau" in refused.value.message) == network
    line.refresh_from_db()
    assert line.held == 0 and not Reservation.objects.exists()
    if not network:
        assert reserve(other).shop == other.shop  # the other shop goes on


def test_pause_has_dates(two_shops):
    line, _other = two_shops
    now = timezone.now()
    pause(line.shop, starts_at=now + datetime.timedelta(days=1), ends_at=now + datetime.timedelta(days=2))
    assert reserve(line).status == Reservation.Status.REQUESTED  # not yet
    with pytest.raises(ReservationsPaused):
        reserve(line, reader_email="b@example.org", now=now + datetime.timedelta(days=1, hours=1))
    reserve(line, reader_email="c@example.org", now=now + datetime.timedelta(days=2, hours=1))  # over


def test_existing_reservations_go_on(two_shops):
    line, _other = two_shops
    reservation = reserve(line)
    pause(line.shop)
    services.reservation_confirm(reservation=reservation)
    services.reservation_collect(reservation=reservation)
    assert reservation.status == Reservation.Status.COLLECTED


def test_moving_to_a_paused_shop_is_refused(two_shops):
    line, other = two_shops
    reservation = reserve(line)
    pause(other.shop)
    with pytest.raises(ReservationsPaused):
        services.reservation_move_to_shop(reservation=reservation, shop=other.shop)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.REQUESTED and StockLine.objects.get(pk=other.pk).held == 0


def test_reader_sees_the_message_instead_of_the_button_and_cannot_post(client, two_shops):
    line, other = two_shops
    pause(line.shop)
    book_page = client.get(line.book.get_absolute_url()).content.decode()
    assert "Inventaire annuel" in book_page and "Réservations en pause jusqu" in book_page
    assert reverse("reservations:new", args=[line.pk]) not in book_page
    assert reverse("reservations:new", args=[other.pk]) in book_page  # the other shop still takes them
    form = client.get(reverse("reservations:new", args=[line.pk]))
    assert "Inventaire annuel" in form.content.decode() and '<form method="post"' not in form.content.decode()
    response = client.post(
        reverse("reservations:new", args=[line.pk]),
        {"reader_name": "Jeanne", "reader_email": "jeanne@example.org", "quantity": "1", "form_token": "t" * 32},
    )
    assert response.status_code == 400 and "Inventaire annuel" in response.content.decode()
    assert not Reservation.objects.exists()


def test_searching_and_browsing_stay_on(client, two_shops):
    line, _other = two_shops
    pause()
    assert client.get("/").status_code == 200
    assert client.get(line.book.get_absolute_url()).status_code == 200
    assert client.get(line.shop.get_absolute_url()).status_code == 200


def test_colleague_booking_at_a_paused_shop_is_refused(client, two_shops):
    line, other = two_shops
    bookseller = staff_member(other.shop)
    client.force_login(bookseller)
    pause(line.shop)
    url = reverse("admin:reservations_colleague_reserve", kwargs={"line_id": line.pk}) + f"?origin={other.shop.pk}"
    token = client.get(url).context["form"].initial["form_token"]
    response = client.post(
        url,
        {
            "reader_name": "Paul",
            "reader_email": "paul@example.org",
            "quantity": "1",
            "form_token": token,
            "origin": other.shop.pk,
        },
    )
    assert response.status_code == 400 and "Inventaire annuel" in response.content.decode()
    assert not Reservation.objects.exists()


def test_admin_move_to_a_paused_shop_shows_the_message(client, two_shops):
    line, other = two_shops
    reservation = reserve(line)
    client.force_login(staff_member(line.shop))
    pause(other.shop)
    url = reverse("admin:reservations_reservation_move", kwargs={"pk": reservation.pk})
    response = client.post(url, {"shop": other.shop.pk, "reason": ""}, follow=True)
    assert "Inventaire annuel" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.REQUESTED


def test_staff_pause_only_their_own_shop(client, two_shops):
    line, other = two_shops
    client.force_login(staff_member(line.shop))
    add = reverse("admin:reservations_reservationpause_add")
    now = timezone.localtime()
    data = {
        "starts_at_0": now.strftime("%d/%m/%Y"),
        "starts_at_1": "00:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "message": "Fermé pour travaux",
    }
    assert client.post(add, {**data, "shop": ""}).status_code == 200  # the network is not theirs
    assert client.post(add, {**data, "shop": other.shop.pk}).status_code == 200
    assert not ReservationPause.objects.exists()
    assert client.post(add, {**data, "shop": line.shop.pk}).status_code == 302
    created = ReservationPause.objects.get()
    assert created.shop == line.shop and created.created_by is not None
    with pytest.raises(ReservationsPaused):
        reserve(line)


def test_association_pauses_the_network_in_the_admin(client, two_shops):
    line, _other = two_shops
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    now = timezone.localtime()
    response = client.post(
        reverse("admin:reservations_reservationpause_add"),
        {
            "shop": "",
            "starts_at_0": now.strftime("%d/%m/%Y"),
            "starts_at_1": "00:00:00",
            "ends_at_0": (now + datetime.timedelta(days=2)).strftime("%d/%m/%Y"),
            "ends_at_1": "00:00:00",
            "message": "Rush de Noël : pause de deux jours",
        },
    )
    assert response.status_code == 302
    assert "Rush de Noël" in client.get(line.book.get_absolute_url()).content.decode()
    with pytest.raises(ReservationsPaused):
        reserve(line)


def test_orders_are_paused_too(two_shops):
    from orders import services as orders_services
    from orders.models import Order

    line, _other = two_shops
    pause(line.shop)
    with pytest.raises(ReservationsPaused):
        orders_services.order_request(
            book=line.book, shop=line.shop, quantity=1, reader_name="Jeanne", reader_email="jeanne@example.org"
        )
    assert not Order.objects.exists()


def test_a_pause_that_has_begun_stays_on_record(client, two_shops):
    line, _other = two_shops
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    begun = ReservationPause.objects.create(
        shop=line.shop, starts_at=timezone.now() - datetime.timedelta(days=1), message="Inventaire annuel"
    )
    coming = ReservationPause.objects.create(
        shop=line.shop, starts_at=timezone.now() + datetime.timedelta(days=10), message="Vacances"
    )
    assert (
        client.post(reverse("admin:reservations_reservationpause_delete", args=[begun.pk]), {"post": "yes"}).status_code
        == 403
    )
    changelist = client.get(reverse("admin:reservations_reservationpause_changelist")).content.decode()
    assert "delete_selected" not in changelist
    # It is ended by setting its end; where and when it began stay as they were.
    change = client.get(reverse("admin:reservations_reservationpause_change", args=[begun.pk])).content.decode()
    assert 'name="starts_at_0"' not in change and 'name="shop"' not in change and 'name="ends_at_0"' in change
    client.post(reverse("admin:reservations_reservationpause_delete", args=[coming.pk]), {"post": "yes"})
    assert list(ReservationPause.objects.all()) == [begun]
