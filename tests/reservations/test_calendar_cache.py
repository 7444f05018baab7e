"""The shop's calendar, kept per process under ``Shop.calendar_version``, and forgotten on every edit."""

import datetime

import psycopg
import pytest
from django.db import connection

from bookshops.models import Closure, OpeningHours, Shop
from catalogue.models import StockLine
from reservations.deadlines import ShopCalendar, request_deadlines
from tests.factories import ShopFactory, StockLineFactory, reserve

pytestmark = pytest.mark.django_db
PARIS = datetime.timezone(datetime.timedelta(hours=1))  # Europe/Paris in November
FRIDAY = datetime.datetime(2026, 11, 20, 15, tzinfo=PARIS)


def confirm_by(shop_id, now=FRIDAY):
    """The deadline of a reservation requested now, with the shop row as a request would load it."""
    return request_deadlines(Shop.objects.get(pk=shop_id), now)[0]


def test_calendar_is_read_once_while_the_shop_is_unchanged(django_assert_num_queries):
    shop = ShopFactory()
    shop.refresh_from_db()
    first = ShopCalendar.of(shop)
    with django_assert_num_queries(0):
        assert ShopCalendar.of(shop) is first
    loaded = Shop.objects.get(pk=shop.pk)
    with django_assert_num_queries(0):
        assert ShopCalendar.of(loaded) is first


@pytest.mark.parametrize(
    ("edit", "day"),
    [
        pytest.param(
            lambda shop: Closure.objects.create(
                shop=shop, start_date=datetime.date(2026, 11, 23), end_date=datetime.date(2026, 11, 23)
            ),
            24,  # Monday no longer counts
            id="closure added",
        ),
        pytest.param(lambda shop: OpeningHours.objects.filter(shop=shop, weekday=0).delete(), 24, id="hours deleted"),
        pytest.param(
            lambda shop: OpeningHours.objects.filter(shop=shop, weekday=0).update(weekday=6),
            22,  # open on Sunday instead of Monday
            id="bulk update",
        ),
    ],
)
def test_any_edit_of_hours_or_closures_is_seen_by_the_next_request(edit, day):
    shop = ShopFactory()  # Monday to Saturday, 10:00-19:00
    assert confirm_by(shop.pk) == datetime.datetime(2026, 11, 23, 19, tzinfo=PARIS)  # Saturday, Monday
    version = Shop.objects.get(pk=shop.pk).calendar_version
    edit(shop)
    assert Shop.objects.get(pk=shop.pk).calendar_version > version
    assert confirm_by(shop.pk) == datetime.datetime(2026, 11, day, 19, tzinfo=PARIS)


def test_an_edit_in_raw_sql_bumps_the_version_too():
    shop = ShopFactory(open_every_day=False)
    assert confirm_by(shop.pk) == datetime.datetime(2026, 11, 22, 23, 59, 59, tzinfo=PARIS)  # calendar days
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bookshops_openinghours (shop_id, weekday, opens, closes) VALUES (%s, 2, '10:00', '12:00')",
            [shop.pk],
        )
    assert confirm_by(shop.pk) == datetime.datetime(2026, 12, 2, 12, tzinfo=PARIS)  # two Wednesdays


def test_reservation_deadlines_follow_a_closure_added_between_two_reservations():
    line = StockLineFactory(quantity=5)
    fresh = StockLine.objects.select_related("shop", "book")
    first = reserve(fresh.get(pk=line.pk), now=FRIDAY)
    Closure.objects.create(shop=line.shop, start_date=datetime.date(2026, 11, 23), end_date=datetime.date(2026, 11, 23))
    second = reserve(fresh.get(pk=line.pk), reader_email="paul@example.org", now=FRIDAY)
    assert first.confirm_by == datetime.datetime(2026, 11, 23, 19, tzinfo=PARIS)
    assert second.confirm_by == datetime.datetime(2026, 11, 24, 19, tzinfo=PARIS)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_committed_by_another_process_is_seen():
    """Another worker (here: a connection of its own, no Django in it) edits the hours: this process's
    cached calendar is not used for the shop row it loads next."""
    shop = ShopFactory()
    assert confirm_by(shop.pk) == datetime.datetime(2026, 11, 23, 19, tzinfo=PARIS)
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("DELETE FROM bookshops_openinghours WHERE shop_id = %s AND weekday = 0", [shop.pk])
    assert confirm_by(shop.pk) == datetime.datetime(2026, 11, 24, 19, tzinfo=PARIS)
