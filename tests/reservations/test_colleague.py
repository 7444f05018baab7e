"""Booksellers sending a customer to a colleague: lookup, reserving on the customer's behalf, moving a reservation."""

import pytest
from django.urls import reverse
from stdnum import isbn as stdnum_isbn

from catalogue.models import StockLine
from catalogue.search import update_index
from reservations import services
from reservations.colleague import colleague_book_lookup, colleague_holdings
from reservations.exceptions import AlreadyAtShop, InsufficientStock, InvalidTransition
from reservations.models import OutgoingEmail, Reservation, ReservationEvent
from reservations.services import reservation_move_to_shop
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, reserve, staff_member

pytestmark = pytest.mark.django_db
S = Reservation.Status
LOOKUP = "admin:reservations_colleague"

TOWNS = {
    "bergerac": ("Bergerac", "24100", "11 rue de la Résistance", 44.8530, 0.4830),
    "perigueux": ("Périgueux", "24000", "2 place Francheville", 45.1846, 0.7214),
    "bordeaux": ("Bordeaux", "33000", "5 cours de l'Intendance", 44.8412, -0.5750),
    "pau": ("Pau", "64000", "8 rue Serviez", 43.2951, -0.3708),
}


def shop_in(key, **kwargs):
    town, postcode, address, lat, lon = TOWNS[key]
    return ShopFactory(
        name=f"Librairie de {town}",
        slug=key,
        town=town,
        postcode=postcode,
        address=address,
        latitude=lat,
        longitude=lon,
        phone=f"05 00 00 00 {len(key):02d}",
        **kwargs,
    )


@pytest.fixture
def network():
    book = BookFactory(title="Les Aventures de Télémaque", isbn="9782070360024")
    shops = {key: shop_in(key) for key in TOWNS}
    lines = {key: StockLineFactory(shop=shop, book=book, quantity=2) for key, shop in shops.items()}
    update_index([book.pk])
    bookseller = staff_member(shops["bergerac"])
    return {"book": book, "shops": shops, "lines": lines, "user": bookseller}


def held(line):
    line.refresh_from_db()
    return line.quantity, line.held


def move_url(reservation):
    return reverse("admin:reservations_reservation_move", kwargs={"pk": reservation.pk})


def reserve_url(line, origin):
    return reverse("admin:reservations_colleague_reserve", kwargs={"line_id": line.pk}) + f"?origin={origin.pk}"


# --- Lookup -----------------------------------------------------------------------


def test_holders_are_listed_nearest_to_the_booksellers_shop_with_their_own_apart(network):
    holdings = colleague_holdings(book=network["book"], origin=network["shops"]["bergerac"])
    assert [line.shop.slug for line in holdings.lines] == ["perigueux", "bordeaux", "pau"]
    assert holdings.own_line.shop.slug == "bergerac"
    distances = [round(line.distance_km) for line in holdings.lines]
    assert 40 <= distances[0] <= 50 and 80 <= distances[1] <= 95 and 160 <= distances[2] <= 200


def test_the_order_follows_the_chosen_shop(network):
    holdings = colleague_holdings(book=network["book"], origin=network["shops"]["pau"])
    assert [line.shop.slug for line in holdings.lines] == ["bordeaux", "bergerac", "perigueux"]


def test_open_now_follows_each_shops_hours(network):
    import datetime

    from django.utils import timezone

    from bookshops.models import Closure

    tuesday_noon = timezone.make_aware(datetime.datetime(2026, 3, 10, 12))
    Closure.objects.create(
        shop=network["shops"]["pau"], start_date=datetime.date(2026, 3, 9), end_date=datetime.date(2026, 3, 14)
    )
    holdings = colleague_holdings(book=network["book"], origin=network["shops"]["bergerac"], moment=tuesday_noon)
    assert {line.shop.slug: line.shop_is_open for line in holdings.lines} == {
        "perigueux": True,
        "bordeaux": True,
        "pau": False,
    }
    sunday = timezone.make_aware(datetime.datetime(2026, 3, 8, 12))
    holdings = colleague_holdings(book=network["book"], origin=network["shops"]["bergerac"], moment=sunday)
    assert not any(line.shop_is_open for line in holdings.lines)


def test_sold_out_inactive_and_unlocated_shops(network):
    StockLine.objects.filter(pk=network["lines"]["perigueux"].pk).update(held=2)
    network["shops"]["bordeaux"].is_active = False
    network["shops"]["bordeaux"].save()
    nowhere = ShopFactory(name="Librairie sans adresse", latitude=None, longitude=None)
    StockLineFactory(shop=nowhere, book=network["book"])
    holdings = colleague_holdings(book=network["book"], origin=network["shops"]["bergerac"])
    assert [line.shop.name for line in holdings.lines] == ["Librairie de Pau", "Librairie sans adresse"]
    assert holdings.lines[1].distance_km is None


@pytest.mark.parametrize(
    "query",
    [
        "9782070360024",
        "978-2-07-036002-4",
        "2070360024",
        "2-07-036002-4",
        " ISBN 978 2 07 036002 4 ",
    ],
)
def test_isbn_in_any_form_finds_the_book(network, query):
    assert stdnum_isbn.to_isbn10("9782070360024") == "2070360024"
    assert colleague_book_lookup(query=query).book == network["book"]


def test_title_search_and_unknown_isbn(network):
    other = BookFactory(title="Télémaque et Mentor")
    StockLineFactory(book=other, shop=network["shops"]["pau"])
    BookFactory(title="Télémaque sans stock")  # nowhere in stock: not offered
    update_index([other.pk, *BookFactory._meta.model.objects.values_list("pk", flat=True)])
    assert colleague_book_lookup(query="aventures telemaque").book == network["book"]
    found = colleague_book_lookup(query="Télémaque")
    assert found.book is None and {b.title for b in found.books} == {
        "Les Aventures de Télémaque",
        "Télémaque et Mentor",
    }
    unknown = colleague_book_lookup(query="978-2-07-036003-1")
    assert unknown.book is None and unknown.unknown_isbn == "9782070360031"


def test_lookup_page_shows_holders_nearest_first_with_phone_and_price(client, network):
    client.force_login(network["user"])
    response = client.get(reverse(LOOKUP), {"q": "2-07-036002-4"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Chez vous" in page
    order = [page.index(f'data-shop="{slug}"') for slug in ("perigueux", "bordeaux", "pau")]
    assert order == sorted(order)
    assert 'data-shop="bergerac"' not in page
    assert "05 00 00 00 09" in page and "22,00\u00a0€" in page and "Réserver pour le client" in page


def test_lookup_with_several_shops_uses_the_chosen_one(client, network):
    user = network["user"]
    network["shops"]["pau"].staff.add(user)
    client.force_login(user)
    page = client.get(reverse(LOOKUP), {"q": network["book"].isbn, "shop": network["shops"]["pau"].pk}).content.decode()
    assert '<select name="shop"' in page
    order = [page.index(f'data-shop="{slug}"') for slug in ("bordeaux", "bergerac", "perigueux")]
    assert order == sorted(order)


def test_lookup_for_someone_elses_shop_shows_nothing(client, network):
    client.force_login(network["user"])
    response = client.get(reverse(LOOKUP), {"q": network["book"].isbn, "shop": network["shops"]["pau"].pk})
    assert 'data-shop="' not in response.content.decode()


def test_lookup_is_refused_to_staff_of_no_shop_and_to_readers(client, network):
    client.force_login(staff_member())
    assert client.get(reverse(LOOKUP), {"q": network["book"].isbn}).status_code == 403
    client.force_login(UserFactory(is_staff=False))
    assert client.get(reverse(LOOKUP)).status_code == 302  # to the admin login


# --- Reserving on the customer's behalf ---------------------------------------------------


def test_reserving_for_a_customer_at_a_colleagues_shop(client, network, mailbox):
    client.force_login(network["user"])
    line = network["lines"]["perigueux"]
    url = reserve_url(line, network["shops"]["bergerac"])
    form = client.get(url)
    token = form.context["form"].initial["form_token"]
    data = {
        "reader_name": "Paul Client",
        "reader_email": "Paul@Example.org",
        "reader_phone": "06 11 22 33 44",
        "quantity": "2",
        "form_token": token,
        "origin": network["shops"]["bergerac"].pk,
    }
    with mailbox():
        response = client.post(url, data)
        again = client.post(url, data)  # double click
    assert response.status_code == 302 and again.status_code == 302
    (reservation,) = Reservation.objects.all()
    assert reservation.shop == line.shop and reservation.referred_by_shop == network["shops"]["bergerac"]
    assert reservation.reader_email == "paul@example.org" and reservation.quantity == 2
    assert held(line) == (2, 2)
    event = reservation.events.get()
    assert event.actor == ReservationEvent.Actor.STAFF and event.user == network["user"]
    assert len(mailbox.kinds_to("paul@example.org")) == 1
    (to_shop,) = [m for m in mailbox.outbox if line.shop.email in m.to]
    assert "Librairie de Bergerac" in to_shop.body  # "Envoyé par"
    followed = client.get(response.url)
    assert reservation.reference in followed.content.decode()


def test_reserving_more_than_available_is_refused_and_changes_nothing(client, network):
    client.force_login(network["user"])
    line = network["lines"]["pau"]
    StockLine.objects.filter(pk=line.pk).update(held=1)
    url = reserve_url(line, network["shops"]["bergerac"])
    response = client.post(
        url,
        {
            "reader_name": "P",
            "reader_email": "p@example.org",
            "quantity": "2",
            "form_token": "tok-1",
            "origin": network["shops"]["bergerac"].pk,
        },
    )
    assert response.status_code == 400
    assert not Reservation.objects.exists() and held(line) == (2, 1)


def test_reserving_from_a_shop_that_is_not_yours_is_refused(client, network):
    client.force_login(network["user"])
    line = network["lines"]["perigueux"]
    response = client.post(
        reserve_url(line, network["shops"]["pau"]),
        {
            "reader_name": "P",
            "reader_email": "p@example.org",
            "quantity": "1",
            "form_token": "tok-2",
            "origin": network["shops"]["pau"].pk,
        },
    )
    assert response.status_code == 404
    assert not Reservation.objects.exists()


def test_reserving_needs_the_change_permission(client, network):
    client.force_login(staff_member(network["shops"]["bergerac"], perms=("reservations.view_reservation",)))
    response = client.get(reserve_url(network["lines"]["pau"], network["shops"]["bergerac"]))
    assert response.status_code == 403


def test_reserving_in_your_own_shop_is_sent_back(client, network):
    client.force_login(network["user"])
    response = client.post(
        reserve_url(network["lines"]["bergerac"], network["shops"]["bergerac"]),
        {
            "reader_name": "P",
            "reader_email": "p@example.org",
            "quantity": "1",
            "form_token": "tok-3",
        },
    )
    assert response.status_code == 302 and not Reservation.objects.exists()


# --- Moving a reservation --------------------------------------------------------------------


@pytest.fixture
def stuck(network):
    """A reservation at Bergerac that the shop cannot serve."""
    return reserve(network["lines"]["bergerac"], reader_name="Jeanne Lecture", reader_email="jeanne@example.org")


def test_move_closes_the_old_one_and_holds_at_the_colleagues(network, stuck, mailbox):
    here, there = network["lines"]["bergerac"], network["lines"]["perigueux"]
    with mailbox():
        new = reservation_move_to_shop(
            reservation=stuck, shop=network["shops"]["perigueux"], user=network["user"], reason="abîmé"
        )
    stuck.refresh_from_db()
    assert stuck.status == S.REDIRECTED and stuck.redirected_to == new and stuck.closed_at is not None
    assert new.shop == there.shop and new.status == S.REQUESTED and new.referred_by_shop == here.shop
    assert new.reader_email == "jeanne@example.org" and new.quantity == 1 and new.confirm_by is not None
    assert held(here) == (2, 0) and held(there) == (2, 1)
    assert [(e.from_status, e.to_status, e.reason) for e in stuck.events.all()][-1] == (
        "requested",
        "redirected",
        "abîmé",
    )
    (event,) = new.events.all()
    assert event.user == network["user"] and stuck.reference in event.reason
    (to_reader,) = [m for m in mailbox.outbox if "jeanne@example.org" in m.to]
    assert "transférée" in to_reader.subject and new.reference in to_reader.body
    assert "2 place Francheville" in to_reader.body and "24000 Périgueux" in to_reader.body
    assert "10:00–19:00" in to_reader.body and "2 place Francheville" in to_reader.alternatives[0][0]
    assert [m for m in mailbox.outbox if there.shop.email in m.to]
    assert not [m for m in mailbox.outbox if here.shop.email in m.to]


def test_a_confirmed_reservation_moves_too(network, stuck, mailbox):
    services.reservation_confirm(reservation=stuck, user=network["user"])
    new = reservation_move_to_shop(reservation=stuck, shop=network["shops"]["pau"], user=network["user"])
    stuck.refresh_from_db()
    assert stuck.status == S.REDIRECTED and new.status == S.REQUESTED
    assert held(network["lines"]["bergerac"]) == (2, 0) and held(network["lines"]["pau"]) == (2, 1)


def assert_nothing_changed(network, stuck, emails_before):
    stuck.refresh_from_db()
    assert stuck.status == S.REQUESTED and stuck.redirected_to is None and stuck.closed_at is None
    assert Reservation.objects.count() == 1 and stuck.events.count() == 1
    assert held(network["lines"]["bergerac"]) == (2, 1)
    assert OutgoingEmail.objects.count() == emails_before


def test_colleague_running_out_mid_way_changes_nothing(network, stuck, mailbox, monkeypatch):
    there = network["lines"]["perigueux"]
    emails_before = OutgoingEmail.objects.count()
    real_hold = services.stock_hold

    def another_reader_takes_the_copies_first(**kwargs):
        # A competing reservation commits between the bookseller's click and the hold.
        StockLine.objects.filter(pk=there.pk).update(held=2)
        return real_hold(**kwargs)

    monkeypatch.setattr(services, "stock_hold", another_reader_takes_the_copies_first)
    with mailbox(), pytest.raises(InsufficientStock):
        reservation_move_to_shop(reservation=stuck, shop=there.shop, user=network["user"])
    assert_nothing_changed(network, stuck, emails_before)
    # One connection in this test: the competitor's write shared the move's transaction and was rolled back with it.
    assert held(there) == (2, 0)
    assert not mailbox.outbox


def test_colleague_sold_out_between_page_and_click_changes_nothing(network, stuck, mailbox):
    there = network["lines"]["perigueux"]
    reserve(there, quantity=2, reader_email="rapide@example.org")
    emails_before = OutgoingEmail.objects.count()
    with mailbox(), pytest.raises(InsufficientStock):
        reservation_move_to_shop(reservation=stuck, shop=there.shop, user=network["user"])
    stuck.refresh_from_db()
    assert stuck.status == S.REQUESTED and stuck.redirected_to is None and stuck.events.count() == 1
    assert held(there) == (2, 2) and held(network["lines"]["bergerac"]) == (2, 1)
    assert Reservation.objects.filter(shop=there.shop).count() == 1
    assert OutgoingEmail.objects.count() == emails_before and not mailbox.outbox


def test_a_failure_after_the_hold_rolls_the_hold_back(network, stuck, mailbox, monkeypatch):
    there = network["lines"]["perigueux"]
    emails_before = OutgoingEmail.objects.count()

    def mail_fails(**kwargs):
        raise RuntimeError("template broken")

    monkeypatch.setattr(services, "email_queue", mail_fails)
    with mailbox(), pytest.raises(RuntimeError):
        reservation_move_to_shop(reservation=stuck, shop=there.shop, user=network["user"])
    assert_nothing_changed(network, stuck, emails_before)
    assert held(there) == (2, 0)
    assert not mailbox.outbox


def test_a_shop_without_the_book_or_the_same_shop_is_refused(network, stuck):
    emails_before = OutgoingEmail.objects.count()
    with pytest.raises(InsufficientStock):
        reservation_move_to_shop(reservation=stuck, shop=ShopFactory(), user=network["user"])
    with pytest.raises(AlreadyAtShop):
        reservation_move_to_shop(reservation=stuck, shop=network["shops"]["bergerac"], user=network["user"])
    assert_nothing_changed(network, stuck, emails_before)


def test_a_reservation_closed_meanwhile_is_not_moved(network, stuck):
    stale = Reservation.objects.get(pk=stuck.pk)
    services.reservation_cancel(reservation=stuck, reason="rupture", user=network["user"])
    with pytest.raises(InvalidTransition):
        reservation_move_to_shop(reservation=stale, shop=network["shops"]["pau"], user=network["user"])
    assert held(network["lines"]["pau"]) == (2, 0) and Reservation.objects.count() == 1


def test_move_page_lists_colleagues_and_moves_on_post(client, network, stuck, mailbox):
    client.force_login(network["user"])
    page = client.get(move_url(stuck)).content.decode()
    order = [page.index(f'data-shop="{slug}"') for slug in ("perigueux", "bordeaux", "pau")]
    assert order == sorted(order) and 'data-shop="bergerac"' not in page
    with mailbox():
        response = client.post(move_url(stuck), {"shop": network["shops"]["pau"].pk, "reason": ""})
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.status == S.REDIRECTED and stuck.redirected_to.shop == network["shops"]["pau"]
    assert len(mailbox.kinds_to("jeanne@example.org")) == 1
    replay = client.post(move_url(stuck), {"shop": network["shops"]["bordeaux"].pk})
    assert replay.status_code == 302 and Reservation.objects.count() == 2


def test_move_page_reports_a_colleague_out_of_stock(client, network, stuck):
    client.force_login(network["user"])
    StockLine.objects.filter(pk=network["lines"]["pau"].pk).update(held=2)
    response = client.post(move_url(stuck), {"shop": network["shops"]["pau"].pk})
    assert response.status_code == 400 and "Plus d&#x27;exemplaire disponible" in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.status == S.REQUESTED


def test_change_page_links_to_the_move_and_the_action_leads_there(client, network, stuck):
    client.force_login(network["user"])
    page = client.get(reverse("admin:reservations_reservation_change", args=[stuck.pk])).content.decode()
    assert move_url(stuck) in page
    response = client.post(
        reverse("admin:reservations_reservation_changelist"),
        {
            "action": "send_to_colleague",
            "_selected_action": [stuck.pk],
        },
    )
    assert response.status_code == 302 and response.url == move_url(stuck)


def test_forged_ids_cannot_move_another_shops_reservation(client, network, mailbox):
    theirs = reserve(network["lines"]["pau"], reader_email="autre@example.org")
    client.force_login(network["user"])
    assert client.get(move_url(theirs)).status_code == 404
    with mailbox():
        assert client.post(move_url(theirs), {"shop": network["shops"]["bordeaux"].pk}).status_code == 404
        response = client.post(
            reverse("admin:reservations_reservation_changelist"),
            {
                "action": "send_to_colleague",
                "_selected_action": [theirs.pk],
            },
        )
    assert response.status_code == 302 and response.url != move_url(theirs)
    theirs.refresh_from_db()
    assert theirs.status == S.REQUESTED and Reservation.objects.count() == 1 and not mailbox.outbox


def test_moving_needs_the_change_permission(client, network, stuck):
    client.force_login(staff_member(network["shops"]["bergerac"], perms=("reservations.view_reservation",)))
    assert client.post(move_url(stuck), {"shop": network["shops"]["pau"].pk}).status_code == 403
    stuck.refresh_from_db()
    assert stuck.status == S.REQUESTED


def test_superuser_can_move_any_reservation(client, network, stuck):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post(move_url(stuck), {"shop": network["shops"]["bordeaux"].pk})
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.redirected_to.shop == network["shops"]["bordeaux"]


# --- Real concurrency (PostgreSQL) -------------------------------------------------------------


def _run_together(*calls):
    """Run each call in its own thread and connection, all released at once; returns their outcomes."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            try:
                outcomes[i] = call()
            except Exception as error:  # noqa: BLE001 - the outcome is what the test reads
                outcomes[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_move_and_readers_race_for_the_colleagues_last_copy():
    book = BookFactory()
    here, there = shop_in("bergerac"), shop_in("perigueux")
    here_line = StockLineFactory(shop=here, book=book, quantity=1)
    there_line = StockLineFactory(shop=there, book=book, quantity=1)
    stuck = reserve(here_line, reader_email="jeanne@example.org")
    readers = [
        (lambda i=i: reserve(there_line, reader_email=f"r{i}@example.org", form_token=f"race-{i}")) for i in range(6)
    ]
    outcomes = _run_together(lambda: reservation_move_to_shop(reservation=stuck, shop=there), *readers)
    winners = [o for o in outcomes if isinstance(o, Reservation)]
    assert len(winners) == 1
    assert all(isinstance(o, InsufficientStock) for o in outcomes if not isinstance(o, Reservation))
    assert held(there_line) == (1, 1)
    stuck.refresh_from_db()
    if isinstance(outcomes[0], Reservation):  # the move won: Bergerac's copy is free again
        assert stuck.status == S.REDIRECTED and held(here_line) == (1, 0)
    else:  # the move lost: nothing changed at Bergerac
        assert stuck.status == S.REQUESTED and stuck.redirected_to is None and held(here_line) == (1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_crossed_moves_between_two_shops_do_not_deadlock():
    book = BookFactory()
    a, b = shop_in("bergerac"), shop_in("pau")
    a_line = StockLineFactory(shop=a, book=book, quantity=2)
    b_line = StockLineFactory(shop=b, book=book, quantity=2)
    at_a = reserve(a_line, reader_email="a@example.org")
    at_b = reserve(b_line, reader_email="b@example.org")
    outcomes = _run_together(
        lambda: reservation_move_to_shop(reservation=at_a, shop=b),
        lambda: reservation_move_to_shop(reservation=at_b, shop=a),
    )
    assert all(isinstance(o, Reservation) for o in outcomes), outcomes
    assert held(a_line) == (2, 1) and held(b_line) == (2, 1)
    assert Reservation.objects.filter(status=S.REDIRECTED).count() == 2


def test_shops_without_online_reservation_are_shown_to_call_not_to_reserve(client, network, stuck):
    pau = network["shops"]["pau"]
    pau.offers_click_and_collect = False
    pau.save()
    client.force_login(network["user"])
    page = client.get(reverse(LOOKUP), {"q": network["book"].isbn}).content.decode()
    assert 'data-shop="pau"' in page and "appelez la librairie" in page
    assert reserve_url(network["lines"]["pau"], network["shops"]["bergerac"]) not in page
    assert client.get(reserve_url(network["lines"]["pau"], network["shops"]["bergerac"])).status_code == 404
    StockLine.objects.filter(pk=network["lines"]["bordeaux"].pk).update(quantity=1)
    stuck_two = reserve(network["lines"]["bergerac"], quantity=1, reader_email="deux@example.org")
    Reservation.objects.filter(pk=stuck_two.pk).update(quantity=2)
    page = client.get(move_url(stuck_two)).content.decode()
    assert f'name="shop" value="{network["shops"]["perigueux"].pk}"' in page
    assert f'name="shop" value="{network["shops"]["bordeaux"].pk}"' not in page and "pas assez d'exemplaires" in page
    assert f'name="shop" value="{pau.pk}"' not in page


# --- Telling editions apart, and the customer's slip --------------------------------------


def test_editions_sharing_a_title_show_author_publisher_and_year(client, network):
    import datetime

    from tests.factories import ContributorFactory

    folio = BookFactory(
        title="Les Aventures de Télémaque",
        isbn=stdnum_isbn.to_isbn13("2070383016"),
        publisher="Folio",
        published_on=datetime.date(1995, 3, 1),
    )
    ContributorFactory(book=folio, name="Fénelon")
    StockLineFactory(shop=network["shops"]["pau"], book=folio, quantity=1)
    network["book"].publisher = "GF Flammarion"
    network["book"].save()
    update_index([folio.pk, network["book"].pk])
    client.force_login(network["user"])
    html = client.get(reverse(LOOKUP), {"q": "Aventures de Télémaque"}).content.decode()
    assert "Fénelon · Folio · 1995" in html and "GF Flammarion" in html
    one = client.get(reverse(LOOKUP), {"q": folio.isbn}).content.decode()
    assert "Fénelon · Folio · 1995 · ISBN" in one


def test_the_printable_slip_has_the_book_and_where_to_ask(client, network):
    from bookshops.models import OpeningHours

    line = network["lines"]["perigueux"]
    client.force_login(network["user"])
    lookup = client.get(reverse(LOOKUP), {"q": network["book"].isbn}).content.decode()
    slip_url = reverse("admin:reservations_colleague_slip", args=[line.pk])
    assert slip_url in lookup
    # No label pointing at a control that is not there (the lookup has no radio buttons).
    assert 'label for="shop-' not in lookup
    OpeningHours.objects.filter(shop=line.shop, weekday=0).delete()
    html = client.get(slip_url).content.decode()
    for text in (
        "Les Aventures de Télémaque",
        "Librairie de Périgueux",
        "2 place Francheville",
        "24000 Périgueux",
        line.shop.phone,
        "Lundi",
        "fermé",
        "Mardi",
        "10:00–19:00",
        "2 exemplaires disponibles",
    ):
        assert text in html, text
    assert "css/admin.css" in html and "data-print" in html
    client.force_login(staff_member())
    assert client.get(slip_url).status_code == 403
