"""The bookseller's counter: the day's sections, one-click actions through the services, landing page, history."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from reservations import services
from reservations.models import Reservation
from tests.factories import (
    BookFactory,
    ContributorFactory,
    ShopFactory,
    StockLineFactory,
    UserFactory,
    reserve,
    staff_member,
)

pytestmark = pytest.mark.django_db
S = Reservation.Status
COUNTER = reverse("admin:reservations_counter")
PARIS = ZoneInfo("Europe/Paris")


def action_url(reservation, action):
    return reverse("admin:reservations_counter_action", args=[reservation.pk, action])


@pytest.fixture
def shop_day():
    shop = ShopFactory(name="Librairie Mienne")
    book = BookFactory(title="Le Lièvre de Vatanen", isbn="9782070360246", cover_url="https://covers.example/v.jpg")
    ContributorFactory(book=book, name="Arto Paasilinna")
    line = StockLineFactory(shop=shop, book=book, quantity=10)
    user = staff_member(shop)
    user.first_name = "Camille"
    user.save()
    requested = reserve(line, reader_name="Jeanne Lecture", reader_email="", reader_phone="06 11 22 33 44", quantity=2)
    waiting = services.reservation_confirm(
        reservation=reserve(line, reader_name="Paul Attente", reader_email="paul@example.org"), user=user
    )
    overdue = services.reservation_confirm(
        reservation=reserve(line, reader_name="Zoé Retard", reader_email="zoe@example.org"),
        user=user,
        now=timezone.now() - datetime.timedelta(days=30),
    )
    collected = services.reservation_collect(
        reservation=reserve(line, reader_name="Léon Parti", reader_email="leon@example.org"), user=user
    )
    other = reserve(StockLineFactory(shop=ShopFactory(name="Librairie Autre")), reader_name="Lecteur Ailleurs")
    return {
        "shop": shop,
        "line": line,
        "user": user,
        "requested": requested,
        "waiting": waiting,
        "overdue": overdue,
        "collected": collected,
        "other": other,
    }


def section(html, key):
    start = html.index(f'id="{key}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else None]


def test_the_counter_sorts_the_day_into_sections_with_what_to_set_aside(client, shop_day):
    client.force_login(shop_day["user"])
    html = client.get(COUNTER).content.decode()
    to_set_aside = section(html, "to_set_aside")
    assert "Jeanne Lecture" in to_set_aside and "Le Lièvre de Vatanen" in to_set_aside
    assert "Arto Paasilinna" in to_set_aside and "978-2-07-036024-6" in to_set_aside
    assert "2 exemplaires" in to_set_aside and 'href="tel:0611223344"' in to_set_aside
    assert "pas d'e-mail" in to_set_aside and "https://covers.example/v.jpg" in to_set_aside
    assert "Mettre de côté" in to_set_aside and action_url(shop_day["requested"], "confirm") in to_set_aside
    waiting = section(html, "waiting")
    assert "Paul Attente" in waiting and "encore" in waiting and "Remis au lecteur" in waiting
    assert "Zoé Retard" in section(html, "overdue") and "Zoé Retard" not in waiting
    collected = section(html, "collected_today")
    assert "Léon Parti" in collected and "<button" not in collected
    assert "Lecteur Ailleurs" not in html  # another shop's


def test_counter_times_are_local_paris_times(client, shop_day):
    reservation = shop_day["requested"]
    utc_deadline = datetime.datetime(2026, 12, 3, 11, 0, tzinfo=datetime.UTC)  # noon in Paris (UTC+1)
    Reservation.objects.filter(pk=reservation.pk).update(confirm_by=utc_deadline)
    client.force_login(shop_day["user"])
    html = section(client.get(COUNTER).content.decode(), "to_set_aside")
    local = utc_deadline.astimezone(PARIS)
    assert local.utcoffset() == datetime.timedelta(hours=1)
    assert f'datetime="{local.isoformat()}"' in html  # 2026-12-03T12:00:00+01:00
    assert "jeudi 3 décembre, 12:00" in html and "11:00" not in html
    changelist = client.get(reverse("admin:reservations_reservation_changelist")).content.decode()
    assert "jeudi 3 décembre, 12:00" in changelist


def test_one_click_actions_go_through_the_services_and_keep_the_filter(client, shop_day, mailbox):
    client.force_login(shop_day["user"])
    requested, waiting = shop_day["requested"], shop_day["waiting"]
    back = COUNTER + "?section=to_set_aside"
    with mailbox():
        response = client.post(action_url(requested, "confirm"), {"next": back})
    assert response.status_code == 302 and response.url == back
    requested.refresh_from_db()
    assert requested.status == S.CONFIRMED and requested.events.last().user == shop_day["user"]
    assert mailbox.outbox == []  # phone only: no e-mail, the shop calls
    followed = client.get(back).content.decode()
    assert "appelez le lecteur au 0611223344" in followed
    with mailbox():
        client.post(action_url(waiting, "collect"), {"next": back})
    waiting.refresh_from_db()
    assert waiting.status == S.COLLECTED
    shop_day["line"].refresh_from_db()
    assert shop_day["line"].held == 3  # requested (2) and overdue (1) still held


def test_cancel_needs_a_reason_and_tells_the_reader(client, shop_day, mailbox):
    client.force_login(shop_day["user"])
    waiting = shop_day["waiting"]
    client.post(action_url(waiting, "cancel"), {"reason": "  "})
    waiting.refresh_from_db()
    assert waiting.status == S.CONFIRMED
    with mailbox():
        client.post(action_url(waiting, "cancel"), {"reason": "Exemplaire abîmé"})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.cancel_reason) == (S.CANCELLED, "Exemplaire abîmé")
    assert "Exemplaire abîmé" in mailbox.outbox[0].body


def test_counter_actions_refuse_get_other_shops_foreign_redirects_and_repeated_clicks(client, shop_day):
    client.force_login(shop_day["user"])
    requested = shop_day["requested"]
    assert client.get(action_url(requested, "confirm")).status_code == 405
    assert client.post(action_url(shop_day["other"], "confirm")).status_code == 404
    shop_day["other"].refresh_from_db()
    assert shop_day["other"].status == S.REQUESTED
    assert client.post(action_url(requested, "explode")).status_code == 403
    response = client.post(action_url(requested, "confirm"), {"next": "https://evil.example/"})
    assert response.url == COUNTER
    again = client.post(action_url(requested, "confirm"), {"next": COUNTER}, follow=True)
    assert "ne peut plus passer" in again.content.decode()
    viewer = staff_member(shop_day["shop"], perms=("reservations.view_reservation",))
    client.force_login(viewer)
    assert client.post(action_url(shop_day["waiting"], "collect")).status_code == 403
    assert "<button" not in section(client.get(COUNTER).content.decode(), "waiting")


def test_a_bookseller_lands_on_the_counter_the_association_on_the_index(client, admin_client, shop_day):
    client.force_login(shop_day["user"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url == COUNTER
    assert client.get(reverse("admin:index"), {"apps": "1"}).status_code == 200
    assert admin_client.get(reverse("admin:index")).status_code == 200
    client.logout()
    login = client.get(reverse("admin:index"))
    assert login.status_code == 302 and reverse("admin:login") in login.url
    client.force_login(staff_member())  # staff of no shop: the usual index
    assert client.get(reverse("admin:index")).status_code == 200
    client.force_login(UserFactory())
    assert client.get(COUNTER).status_code == 302


def test_the_changelist_shows_what_to_set_aside(client, shop_day):
    client.force_login(shop_day["user"])
    html = client.get(
        reverse("admin:reservations_reservation_changelist"), {"status__exact": "requested"}
    ).content.decode()
    for text in (
        "Le Lièvre de Vatanen",
        "Arto Paasilinna",
        "978-2-07-036024-6",
        "Jeanne Lecture",
        "0611223344",
        "à mettre de côté avant le",
    ):
        assert text in html, text
    assert "column-shop" not in html  # one shop: no shop column
    assert "Mettre de côté" in html and "Remis au lecteur" in html and "Annuler…" in html


def test_history_is_in_words_in_both_languages(client, shop_day):
    reservation = shop_day["waiting"]
    client.force_login(shop_day["user"])
    html = client.get(reverse("admin:reservations_reservation_change", args=[reservation.pk])).content.decode()
    assert "Demandée par le lecteur" in html and "Mise de côté par Camille (librairie)" in html
    assert "∅" not in html and "requested" not in html.split("reservation-next")[-1].split("<footer")[0]
    created, confirmed = reservation.events.all()
    with translation.override("en"):
        assert created.description() == "Requested by the reader"
        assert confirmed.description() == "Set aside by Camille (shop)"
    expired = services.reservation_expire(reservation=shop_day["overdue"])
    with translation.override("en"):
        assert expired.events.last().description() == "Expired automatically"
