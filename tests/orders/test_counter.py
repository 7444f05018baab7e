"""The shop's orders on the bookseller's counter of the day: each next step in one click, through the services."""

import datetime
import html as entities

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from bookshops.services import booksellers_group_sync
from orders.models import Order, OrderEmail
from tests.factories import BookFactory, ShopFactory, staff_member

from .test_orders import confirmed, order

pytestmark = pytest.mark.django_db
S = Order.Status
COUNTER = reverse("admin:reservations_counter")
ORDER_PERMS = (
    "reservations.view_reservation",
    "reservations.change_reservation",
    "orders.view_order",
    "orders.change_order",
)


def action_url(made, action):
    return reverse("admin:orders_order_counter_action", args=[made.pk, action])


def section(html, key):
    start = html.index(f'id="{key}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else None]


@pytest.fixture
def day(mailbox):
    from orders import services

    mine, theirs = ShopFactory(name="Librairie Mienne", order_delay_max_days=6), ShopFactory(name="Librairie Autre")
    user = staff_member(mine, perms=ORDER_PERMS)
    requested = confirmed(
        mailbox, shop=mine, book=BookFactory(title="Le Chant du monde"), reader_name="Ana Demande", note="Pour Noël"
    )
    accepted = confirmed(mailbox, shop=mine, book=BookFactory(title="Regain"), reader_email="b@example.org")
    services.order_accept(order=accepted, expected_on=timezone.localdate() - datetime.timedelta(days=1))
    arrived = confirmed(mailbox, shop=mine, book=BookFactory(title="Colline"), reader_email="c@example.org")
    services.order_arrive(order=arrived)
    with mailbox():
        unconfirmed = order(shop=mine, book=BookFactory(title="Pas encore confirmée"), reader_email="d@example.org")
    other = confirmed(mailbox, shop=theirs, book=BookFactory(title="Chez le confrère"), reader_email="e@example.org")
    return {
        "mine": mine,
        "user": user,
        "requested": requested,
        "accepted": accepted,
        "arrived": arrived,
        "unconfirmed": unconfirmed,
        "other": other,
        "other_staff": staff_member(theirs, perms=ORDER_PERMS),
    }


def counter(client):
    return entities.unescape(client.get(COUNTER).content.decode())


def test_the_counter_shows_the_shops_orders_needing_action_beside_reservations(client, day):
    client.force_login(day["user"])
    html = counter(client)
    assert 'id="to_set_aside"' in html  # the reservations are still there
    to_answer = section(html, "orders_to_answer")
    assert "Le Chant du monde" in to_answer and "Ana Demande" in to_answer and "Pour Noël" in to_answer
    assert action_url(day["requested"], "accept") in to_answer and action_url(day["requested"], "decline") in to_answer
    suggested = (timezone.localdate() + datetime.timedelta(days=6)).isoformat()
    assert f'value="{suggested}"' in to_answer  # the shop's usual longest delay
    on_order = section(html, "orders_on_order")
    assert "Regain" in on_order and "en retard" in on_order and action_url(day["accepted"], "arrive") in on_order
    arrived = section(html, "orders_arrived")
    assert "Colline" in arrived and "À retirer avant" in arrived and action_url(day["arrived"], "collect") in arrived
    # Only this shop's orders, and only once the reader confirmed their address.
    assert "Pas encore confirmée" not in html and "Chez le confrère" not in html
    assert 'Commandes <span class="count">3</span>' in html
    only = entities.unescape(client.get(COUNTER, {"section": "orders"}).content.decode())
    assert "Le Chant du monde" in only and 'id="to_set_aside"' not in only


def test_accept_then_arrive_then_collect_from_the_counter(client, day, mailbox):
    client.force_login(day["user"])
    made = day["requested"]
    expected = timezone.localdate() + datetime.timedelta(days=4)
    with mailbox():
        response = client.post(action_url(made, "accept"), {"expected_on": expected.isoformat(), "next": COUNTER})
    assert response.status_code == 302 and response.url == COUNTER
    assert "commandé au distributeur pour Ana Demande. Le lecteur est prévenu par e-mail." in counter(client)
    made.refresh_from_db()
    assert (made.status, made.expected_on) == (S.ACCEPTED, expected)
    assert made.events.last().user == day["user"]
    assert OrderEmail.objects.filter(order=made, kind="accepted").count() == 1
    assert f'id="o-{made.pk}"' in section(counter(client), "orders_on_order")
    with mailbox():
        client.post(action_url(made, "arrive"), {"next": COUNTER})
    made.refresh_from_db()
    assert made.status == S.ARRIVED and made.pickup_deadline is not None
    with mailbox():
        client.post(action_url(made, "collect"), {"next": COUNTER})
    made.refresh_from_db()
    assert made.status == S.COLLECTED
    assert [e.to_status for e in made.events.all()] == ["unconfirmed", "requested", "accepted", "arrived", "collected"]


def test_accept_needs_a_date_not_in_the_past_and_decline_a_reason(client, day, mailbox):
    client.force_login(day["user"])
    made = day["requested"]
    for data in ({}, {"expected_on": "not a date"}, {"expected_on": "2001-01-01"}):
        response = client.post(action_url(made, "accept"), data, follow=True)
        assert "Indiquez une date d'arrivée prévue" in entities.unescape(response.content.decode())
    made.refresh_from_db()
    assert made.status == S.REQUESTED
    response = client.post(action_url(made, "decline"), {"reason": "  "}, follow=True)
    assert "pourquoi la commande ne peut pas être honorée" in entities.unescape(response.content.decode())
    made.refresh_from_db()
    assert made.status == S.REQUESTED
    with mailbox():
        client.post(action_url(made, "decline"), {"reason": "Épuisé chez le distributeur"})
    made.refresh_from_db()
    assert (made.status, made.reason) == (S.DECLINED, "Épuisé chez le distributeur")
    assert any("Épuisé chez le distributeur" in m.body for m in mailbox.outbox if m.to == [made.reader_email])


def test_a_step_the_order_cannot_take_is_refused_with_a_message(client, day, mailbox):
    client.force_login(day["user"])
    response = client.post(action_url(day["arrived"], "accept"), {"expected_on": timezone.localdate()}, follow=True)
    assert day["arrived"].reference in response.content.decode()
    day["arrived"].refresh_from_db()
    assert day["arrived"].status == S.ARRIVED


def test_another_shops_staff_and_forged_ids_touch_nothing(client, day, mailbox):
    client.force_login(day["other_staff"])
    html = counter(client)
    assert "Le Chant du monde" not in html and "Chez le confrère" in html
    for made in (day["requested"], day["unconfirmed"]):
        for action, data in (
            ("accept", {"expected_on": timezone.localdate().isoformat()}),
            ("decline", {"reason": "x"}),
        ):
            assert client.post(action_url(made, action), data).status_code == 404
    forged = reverse("admin:orders_order_counter_action", args=[999999, "arrive"])
    assert client.post(forged).status_code == 404
    assert client.post(action_url(day["other"], "delete")).status_code == 403
    assert client.get(action_url(day["other"], "decline")).status_code == 405
    for name in ("requested", "unconfirmed"):
        day[name].refresh_from_db()
    assert (day["requested"].status, day["unconfirmed"].status) == (S.REQUESTED, S.UNCONFIRMED)
    # An outside "next" is not followed.
    response = client.post(action_url(day["other"], "arrive"), {"next": "https://evil.example/"})
    assert response.url == COUNTER


def test_staff_without_the_orders_permissions_see_no_orders_and_cannot_act(client, day):
    viewer = staff_member(day["mine"], perms=("reservations.view_reservation", "orders.view_order"))
    client.force_login(viewer)
    html = counter(client)
    assert "Le Chant du monde" in html and action_url(day["requested"], "accept") not in html
    assert client.post(action_url(day["requested"], "arrive")).status_code == 403
    client.force_login(staff_member(day["mine"], perms=("reservations.view_reservation",)))
    assert 'id="orders_to_answer"' not in counter(client)


def test_the_booksellers_group_may_work_orders(client, day):
    group = booksellers_group_sync()
    assert Group.objects.get(pk=group.pk).permissions.filter(codename__in=["view_order", "change_order"]).count() == 2
    bookseller = staff_member(day["mine"], perms=())
    bookseller.groups.add(group)
    client.force_login(bookseller)
    assert action_url(day["requested"], "accept") in counter(client)
