"""The shops holding each book, kept in its search document (PostgreSQL), follow every change of availability.

"Near me only" reads ``shop_ids && ARRAY[…]``; the stock lines are the truth. After
each kind of change (a stock file, a PATCH or PUT through the API, a hold and its
release, a shop leaving or joining the network, an index refresh) the array and
the join on the stock lines must give the same books, and the array must be the
set of active shops with a free copy.
"""

import re
import threading
from html.parser import HTMLParser

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse

from bookshops.models import Shop
from bookshops.tokens import api_token_create
from catalogue.models import Book, BookSearchDocument, StockLine
from catalogue.search import get_engine, update_index
from catalogue.search.engine import Filters, Term, held_in_shops_sql
from catalogue.stock.holds import stock_hold, stock_release
from catalogue.stock.snapshots import stock_import
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, reserve

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="shop_ids is PostgreSQL's")


def kept_shop_ids():
    with connection.cursor() as cursor:
        cursor.execute("SELECT book_id, shop_ids FROM catalogue_booksearchdocument ORDER BY book_id")
        return dict(cursor.fetchall())


def true_shop_ids():
    held = {pk: [] for pk in BookSearchDocument.objects.values_list("book_id", flat=True)}
    for book_id, shop_id in (
        StockLine.objects.available().order_by("book_id", "shop_id").values_list("book_id", "shop_id")
    ):
        if book_id in held:  # a book made by an import has its document once the refresh task ran
            held[book_id].append(shop_id)
    return held


def near_only(shop_ids, *, through_array: bool):
    engine = get_engine()
    held_in = engine.held_in_shops_sql if through_array else held_in_shops_sql
    terms = [Term(word="jardins")]
    filters = Filters(only_shop_ids=shop_ids, boost_shop_ids=shop_ids)
    from_sql, where_sql, _score, params = engine.match_sql(terms)
    filter_sql, filter_params = filters.sql(held_in)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d.book_id FROM {from_sql} WHERE {where_sql} AND {filter_sql}", params + filter_params)
        return sorted(row[0] for row in cursor.fetchall())


def assert_in_step(network):
    """The array is the truth, and near-only gives the same books through it and through the join."""
    assert kept_shop_ids() == true_shop_ids()
    counts = dict(BookSearchDocument.objects.values_list("book_id", "in_stock_shops"))
    assert counts == {pk: len(ids) for pk, ids in true_shop_ids().items()}
    # As ``shop_ids_near`` gives them: active shops only (the join trusts the caller for that).
    shops = list(
        Shop.objects.active().filter(pk__in=[shop.pk for shop in network["shops"]]).values_list("pk", flat=True)
    )
    for subset in ([shops[0]], [shops[1]], shops[:2], shops):
        assert near_only(subset, through_array=True) == near_only(subset, through_array=False)


@pytest.fixture
def network(db):
    bordeaux, talence, pau = (ShopFactory(slug=slug) for slug in ("bordeaux", "talence", "pau"))
    books = [BookFactory(title=f"Jardins {n}", isbn=isbn) for n, isbn in enumerate(ISBNS)]
    StockLineFactory(shop=bordeaux, book=books[0], quantity=1)
    StockLineFactory(shop=talence, book=books[0], quantity=2)
    StockLineFactory(shop=pau, book=books[1], quantity=1)
    StockLineFactory(shop=bordeaux, book=books[2], quantity=0)
    update_index([book.pk for book in books])
    return {"shops": [bordeaux, talence, pau], "books": books}


ISBNS = ["9782070368228", "9782070360246", "9782253004639", "9782070413119"]


def line(shop, book):
    return StockLine.objects.get(shop=shop, book=book)


def test_an_index_refresh_writes_the_shops_with_a_free_copy(network):
    bordeaux, talence, pau = network["shops"]
    books = network["books"]
    assert kept_shop_ids()[books[0].pk] == sorted([bordeaux.pk, talence.pk])
    assert kept_shop_ids()[books[2].pk] == []
    assert_in_step(network)


def test_a_snapshot_import_adds_and_removes_shops(network):
    bordeaux, _talence, _pau = network["shops"]
    # Book 0 goes (not listed: zeroed), book 2 comes back, book 3 is new here; an unknown ISBN makes a book.
    stock_import(shop=bordeaux, data=f"EAN;Qté\n{ISBNS[2]};2\n{ISBNS[3]};1\n9782070612758;1\n".encode(), force=True)
    assert bordeaux.pk not in kept_shop_ids()[network["books"][0].pk]
    assert kept_shop_ids()[network["books"][2].pk] == [bordeaux.pk]
    assert_in_step(network)
    made = Book.objects.get(isbn="9782070612758")
    update_index([made.pk])  # what the refresh task the import queued does: the new book's document
    assert kept_shop_ids()[made.pk] == [bordeaux.pk]
    assert_in_step(network)


def test_a_partial_import_changes_only_its_lines(network):
    bordeaux, talence, _pau = network["shops"]
    stock_import(shop=talence, data=f"EAN;Qté\n{ISBNS[0]};0\n{ISBNS[1]};4\n".encode(), partial=True)
    assert kept_shop_ids()[network["books"][0].pk] == [bordeaux.pk]
    assert_in_step(network)


def test_patch_and_put_through_the_api(client, network):
    bordeaux, _talence, pau = network["shops"]
    token = api_token_create(shop=pau, name="Caisse")[1]
    headers = {"Authorization": f"Bearer {token}"}
    url = reverse("api:shop-stock", kwargs={"slug": "pau"})
    response = client.patch(
        url, data=f"EAN;Qté\r\n{ISBNS[1]};0\r\n{ISBNS[2]};3\r\n", content_type="text/csv", headers=headers
    )
    assert response.status_code == 200, response.content
    assert kept_shop_ids()[network["books"][1].pk] == []
    assert kept_shop_ids()[network["books"][2].pk] == [pau.pk]
    assert_in_step(network)
    response = client.put(
        url + "?force=true", data=f"EAN;Qté\r\n{ISBNS[1]};2\r\n", content_type="text/csv", headers=headers
    )
    assert response.status_code == 200, response.content
    assert kept_shop_ids()[network["books"][1].pk] == [pau.pk]
    assert kept_shop_ids()[network["books"][2].pk] == []
    assert_in_step(network)


def test_holding_the_last_copy_and_releasing_it(network):
    bordeaux, talence, _pau = network["shops"]
    book = network["books"][0]
    last = line(bordeaux, book)
    stock_hold(stock_line_id=last.pk, quantity=1)
    assert kept_shop_ids()[book.pk] == [talence.pk]
    assert_in_step(network)
    stock_release(shop_id=bordeaux.pk, book_id=book.pk, quantity=1)
    assert kept_shop_ids()[book.pk] == sorted([bordeaux.pk, talence.pk])
    assert_in_step(network)
    stock_hold(stock_line_id=line(talence, book).pk, quantity=1)  # one of two copies: still there
    assert kept_shop_ids()[book.pk] == sorted([bordeaux.pk, talence.pk])
    stock_release(shop_id=talence.pk, book_id=book.pk, quantity=1, collected=True)
    assert_in_step(network)


def test_a_readers_reservation_takes_the_shop_off_and_its_cancellation_puts_it_back(network):
    from reservations.services import reservation_cancel

    bordeaux, talence, _pau = network["shops"]
    book = network["books"][0]
    reservation = reserve(line(bordeaux, book))
    assert kept_shop_ids()[book.pk] == [talence.pk]
    reservation_cancel(reservation=reservation, reason="", by_reader=True)
    assert kept_shop_ids()[book.pk] == sorted([bordeaux.pk, talence.pk])
    assert_in_step(network)


class _FormFields(HTMLParser):
    """The fields of the admin's change form as a browser would send them."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            else:
                self.data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def admin_save_shop(client, shop, **changes):
    url = reverse("admin:bookshops_shop_change", args=[shop.pk])
    form = _FormFields()
    form.feed(client.get(url).content.decode())
    data = {k: v for k, v in form.data.items() if not re.search(r"__prefix__", k)}
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_shop_leaving_the_network_and_coming_back(client, network):
    bordeaux, talence, _pau = network["shops"]
    book = network["books"][0]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    admin_save_shop(client, bordeaux, is_active=False)
    assert kept_shop_ids()[book.pk] == [talence.pk]
    assert_in_step(network)
    admin_save_shop(client, bordeaux, is_active="on")
    assert kept_shop_ids()[book.pk] == sorted([bordeaux.pk, talence.pk])
    assert_in_step(network)


@pytest.mark.django_db(transaction=True)
def test_two_holds_on_the_same_book_at_once_leave_the_array_right():
    """Two shops' last copies of one book taken at the same moment: the second waits for the first's
    document lock, then reads the stock again; without that it would write back the first shop."""
    bordeaux, talence = ShopFactory(), ShopFactory()
    book = BookFactory(title="Jardins")
    first = StockLineFactory(shop=bordeaux, book=book, quantity=1)
    second = StockLineFactory(shop=talence, book=book, quantity=1)
    update_index([book.pk])
    assert kept_shop_ids()[book.pk] == sorted([bordeaux.pk, talence.pk])
    first_synced, may_commit, errors = threading.Event(), threading.Event(), []

    def hold_first():
        try:
            with transaction.atomic():
                stock_hold(stock_line_id=first.pk, quantity=1)
                first_synced.set()
                assert may_commit.wait(20)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def hold_second():
        try:
            with transaction.atomic():
                stock_hold(stock_line_id=second.pk, quantity=1)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    one = threading.Thread(target=hold_first)
    one.start()
    assert first_synced.wait(20)
    two = threading.Thread(target=hold_second)
    two.start()
    # The second hold is waiting on the document's row lock (it has written its line already).
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second hold never waited for the first")
    may_commit.set()
    one.join(20)
    two.join(20)
    assert not errors
    assert StockLine.objects.filter(book=book, held=1).count() == 2
    assert kept_shop_ids()[book.pk] == [] == true_shop_ids()[book.pk]
