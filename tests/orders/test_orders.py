"""Ordering a book through a member shop: the address confirmed first, then every step recorded and told."""

import datetime
import re
import zoneinfo

import pytest
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from bookshops.models import Closure, OpeningHours
from catalogue.models import Book
from catalogue.stock.snapshots import stock_import
from orders import services
from orders.exceptions import AlreadyOrdered, InvalidOrderTransition, OrderNotPossible, TooManyOrders
from orders.models import Order, OrderEmail
from tests.factories import BookFactory, ShopFactory, UserFactory, staff_member

pytestmark = pytest.mark.django_db
S = Order.Status
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def order(book=None, shop=None, **kwargs):
    values = {"quantity": 1, "reader_name": "Jeanne Lecture", "reader_email": "jeanne@example.org"}
    values.update(kwargs)
    return services.order_request(book=book or BookFactory(), shop=shop or ShopFactory(), **values)


def confirmed(mailbox, **kwargs) -> Order:
    """An order whose reader followed the link of the first e-mail."""
    with mailbox():
        made = order(**kwargs)
    link = next(m for m in reversed(mail.outbox) if m.to == [made.reader_email] and "Confirmez" in m.subject)
    with mailbox():
        services.order_confirm_address(token=confirm_link(link))
    made.refresh_from_db()
    return made


def confirm_link(message) -> str:
    return re.search(r"/orders/confirm/(\S+)/", message.body).group(1)


def subjects_to(address):
    return [m.subject for m in mail.outbox if m.to == [address]]


def test_an_order_reaches_the_shop_only_once_the_reader_confirms_their_address(mailbox):
    shop = ShopFactory(email="plume@example.org")
    with mailbox():
        made = order(shop=shop, reader_email="  Jeanne@Example.org ")
    assert made.status == S.UNCONFIRMED and made.reader_email == "jeanne@example.org"
    assert subjects_to("plume@example.org") == []
    [first] = mail.outbox
    assert first.to == ["jeanne@example.org"] and made.reference in first.subject
    with mailbox():
        confirmed = services.order_confirm_address(token=confirm_link(first))
    assert confirmed.status == S.REQUESTED and confirmed.email_confirmed_at is not None
    [to_shop] = [m for m in mail.outbox if m.to == ["plume@example.org"]]
    assert "Nouvelle commande" in to_shop.subject and "jeanne@example.org" in to_shop.body
    assert any("transmise" in s for s in subjects_to("jeanne@example.org"))
    # A second click changes nothing and sends nothing.
    count = len(mail.outbox)
    with mailbox():
        assert services.order_confirm_address(token=confirm_link(first)).status == S.REQUESTED
    assert len(mail.outbox) == count


def test_a_forged_or_stale_confirmation_link_is_refused(mailbox):
    with mailbox():
        made = order()
    token = confirm_link(mail.outbox[0])
    with pytest.raises(OrderNotPossible):
        services.order_confirm_address(token=token[:-2] + "xx")
    stale = signing.TimestampSigner(salt="orders.confirm-email").sign(made.reference)
    later = timezone.now() + datetime.timedelta(hours=49)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: later.timestamp())
        with pytest.raises(OrderNotPossible, match="expiré"):
            services.order_confirm_address(token=stale)
    made.refresh_from_db()
    assert made.status == S.UNCONFIRMED


def test_the_whole_life_with_a_date_on_every_step(mailbox):
    shop = ShopFactory()
    bookseller = UserFactory()
    made = confirmed(mailbox, shop=shop)
    with mailbox():
        services.order_accept(order=made, expected_on=datetime.date(2026, 12, 8), user=bookseller)
        services.order_arrive(order=made, user=bookseller)
        services.order_collect(order=made, user=bookseller)
    made.refresh_from_db()
    assert made.status == S.COLLECTED
    labels = [label for label, _moment in made.steps()]
    assert len(labels) == 5 and all(moment for _label, moment in made.steps())
    assert [e.to_status for e in made.events.all()] == [S.UNCONFIRMED, S.REQUESTED, S.ACCEPTED, S.ARRIVED, S.COLLECTED]
    reader = subjects_to("jeanne@example.org")
    assert len(reader) == 5  # confirm, received, accepted, arrived, collected
    accepted = next(m for m in mail.outbox if "est commandée" in m.subject)
    assert "8 décembre" in accepted.body
    with pytest.raises(InvalidOrderTransition):
        services.order_arrive(order=made)


def test_the_reader_page_shows_each_step_and_cancels(client, mailbox):
    made = confirmed(mailbox)
    with mailbox():
        services.order_accept(order=made, expected_on=datetime.date(2026, 12, 8))
    page = client.get(made.get_reader_url()).content.decode()
    assert made.reference in page and "Commandée au distributeur" in page
    assert "arrivée prévue le mardi 8 décembre" in page
    assert page.count("<li>") >= 3
    with mailbox():
        response = client.post(reverse("orders:cancel", args=[made.reader_token()]))
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == S.CANCELLED
    assert any("annulée par le lecteur" in m.subject for m in mail.outbox)
    assert client.get(reverse("orders:detail", args=["forged:token"])).status_code == 404


def test_declining_needs_a_reason_that_the_reader_receives(mailbox):
    made = confirmed(mailbox)
    with pytest.raises(OrderNotPossible):
        services.order_decline(order=made, reason="   ")
    with mailbox():
        services.order_decline(order=made, reason="épuisé chez le distributeur")
    declined = next(m for m in mail.outbox if "ne peut pas être honorée" in m.subject)
    assert "épuisé chez le distributeur" in declined.body


def test_caps_per_address_and_per_title(settings, mailbox):
    settings.ORDERS_MAX_ACTIVE_PER_EMAIL = 2
    book = BookFactory()
    with mailbox():
        order(book=book)
        with pytest.raises(AlreadyOrdered):
            order(book=book, reader_email="JEANNE@example.org")
        order()
        with pytest.raises(TooManyOrders):
            order()
    assert Order.objects.count() == 2


def test_out_of_print_books_and_shops_that_take_no_orders_are_refused():
    with pytest.raises(OrderNotPossible, match="épuisé"):
        order(book=BookFactory(availability=Book.Availability.OUT_OF_PRINT))
    with pytest.raises(OrderNotPossible, match="ne prend pas"):
        order(shop=ShopFactory(takes_portal_orders=False))
    assert Order.objects.count() == 0


def test_a_replayed_form_makes_one_order(mailbox):
    book, shop = BookFactory(), ShopFactory()
    with mailbox():
        first = order(book=book, shop=shop, form_token="t" * 32)
        again = order(book=book, shop=shop, form_token="t" * 32)
    assert again.pk == first.pk and Order.objects.count() == 1


def test_the_pickup_deadline_counts_opening_days_and_skips_closures(mailbox):
    shop = ShopFactory(open_every_day=False, hold_days=2)
    for weekday in (1, 2, 3, 4, 5):  # Tuesday to Saturday
        OpeningHours.objects.create(shop=shop, weekday=weekday, opens=datetime.time(10), closes=datetime.time(19))
    Closure.objects.create(shop=shop, start_date=datetime.date(2026, 12, 5), end_date=datetime.date(2026, 12, 9))
    made = confirmed(mailbox, shop=shop)
    with mailbox():
        friday = datetime.datetime(2026, 12, 4, 12, tzinfo=PARIS)
        services.order_arrive(order=made, now=friday)
    made.refresh_from_db()
    # Saturday 5 to Wednesday 9 closed, Sunday and Monday shut: Thursday 10, then Friday 11 at closing time.
    assert timezone.localtime(made.pickup_deadline) == datetime.datetime(2026, 12, 11, 19, tzinfo=PARIS)
    with mailbox():
        report = services.orders_expire_due(now=made.pickup_deadline + datetime.timedelta(minutes=1))
    assert report["uncollected"] == 1
    made.refresh_from_db()
    assert made.status == S.EXPIRED


def test_unconfirmed_orders_expire_without_reaching_the_shop(settings, mailbox):
    with mailbox():
        made = order()
    later = made.created_at + datetime.timedelta(hours=settings.ORDERS_CONFIRM_HOURS, minutes=1)
    with mailbox():
        assert services.orders_expire_due(now=later)["unconfirmed"] == 1
        assert services.orders_expire_due(now=later) == {"unconfirmed": 0, "uncollected": 0}
    made.refresh_from_db()
    assert made.status == S.EXPIRED


def test_the_shop_is_told_when_its_own_stock_file_brings_an_ordered_book(mailbox):
    shop = ShopFactory(email="plume@example.org")
    book = BookFactory()
    made = confirmed(mailbox, book=book, shop=shop)
    with mailbox():
        stock_import(shop=shop, data=f"EAN;Qté\r\n{book.isbn};1\r\n".encode())
        stock_import(shop=shop, data=f"EAN;Qté\r\n{book.isbn};2\r\n".encode())
    notices = [m for m in mail.outbox if "est dans votre stock" in m.subject]
    assert len(notices) == 1 and made.reference in notices[0].subject


def test_the_order_form_offers_nearest_shops_with_their_delay_and_refuses_bad_input(client, mailbox):
    book = BookFactory()
    ShopFactory(name="La Plume", order_delay_min_days=2, order_delay_max_days=4)
    page = client.get(reverse("orders:new", args=[book.isbn]))
    assert page.status_code == 200 and "en général 2 à 4 jours" in page.content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)
    shop_id = re.search(r'name="shop"[^>]*>\s*<option value="(\d+)"', page.content.decode()).group(1)
    bad = client.post(
        reverse("orders:new", args=[book.isbn]),
        {"shop": shop_id, "reader_name": "J", "reader_email": "not-an-address", "quantity": "1", "form_token": token},
    )
    assert bad.status_code == 400 and Order.objects.count() == 0
    nul = client.post(
        reverse("orders:new", args=[book.isbn]),
        {"shop": "999999", "reader_name": "J", "reader_email": "j@example.org", "quantity": "1", "form_token": token},
    )
    assert nul.status_code == 400 and Order.objects.count() == 0
    with mailbox():
        good = client.post(
            reverse("orders:new", args=[book.isbn]),
            {
                "shop": shop_id,
                "reader_name": "Jeanne",
                "reader_email": "j@example.org",
                "quantity": "2",
                "form_token": token,
            },
        )
    made = Order.objects.get()
    assert good.status_code == 302 and good.url == made.get_reader_url() and made.quantity == 2
    assert client.get(reverse("orders:new", args=["9780000000000"])).status_code == 400  # a wrong check digit


def test_the_confirmation_link_needs_a_post(client, mailbox):
    with mailbox():
        made = order()
    token = confirm_link(mail.outbox[0])
    assert client.get(reverse("orders:confirm", args=[token])).status_code == 200
    made.refresh_from_db()
    assert made.status == S.UNCONFIRMED  # a mail scanner following the link confirms nothing
    with mailbox():
        response = client.post(reverse("orders:confirm", args=[token]))
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == S.REQUESTED
    assert client.post(reverse("orders:confirm", args=["forged"])).status_code == 400


def test_a_shop_sees_only_its_own_confirmed_orders_in_the_admin(client, mailbox):
    mine, theirs = ShopFactory(), ShopFactory()
    with mailbox():
        waiting = order(shop=mine, reader_email="a@example.org")
    visible = confirmed(mailbox, shop=mine, reader_email="b@example.org")
    other = confirmed(mailbox, shop=theirs, reader_email="c@example.org")
    client.force_login(staff_member(mine, perms=("orders.view_order", "orders.change_order")))
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert visible.reference in page and waiting.reference not in page and other.reference not in page
    assert client.get(reverse("admin:orders_order_change", args=[other.pk])).status_code == 302
    response = client.post(
        reverse("admin:orders_order_changelist"), {"action": "arrive", "_selected_action": [other.pk]}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == S.REQUESTED
    assert OrderEmail.objects.filter(order=other, kind="arrived").count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_per_address_cap_holds_under_simultaneous_orders(settings):
    import threading

    from django.db import connections

    settings.ORDERS_MAX_ACTIVE_PER_EMAIL = 3
    shop = ShopFactory()
    books = [BookFactory() for _ in range(10)]
    barrier = threading.Barrier(len(books))
    outcomes, lock = [], threading.Lock()

    def attempt(book):
        try:
            barrier.wait()
            try:
                services.order_request(book=book, shop=shop, quantity=1, reader_name="J", reader_email="j@example.org")
                result = "ok"
            except TooManyOrders:
                result = "capped"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(book,)) for book in books]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["capped"] * 7 + ["ok"] * 3
    assert Order.objects.filter(reader_email="j@example.org").count() == 3
