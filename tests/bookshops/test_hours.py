import datetime
import zoneinfo

import pytest

from bookshops.models import Closure, OpeningHours, Shop
from bookshops.selectors import attach_open_now
from tests.factories import ShopFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(day: str, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=PARIS)


@pytest.fixture
def night_shop(db):
    """Open Friday 18:00 → Saturday 02:00, and Saturday 09:30-12:30 and 14:00-19:00."""
    shop = ShopFactory(open_every_day=False)
    OpeningHours.objects.create(shop=shop, weekday=4, opens=datetime.time(18), closes=datetime.time(2))
    OpeningHours.objects.create(shop=shop, weekday=5, opens=datetime.time(9, 30), closes=datetime.time(12, 30))
    OpeningHours.objects.create(shop=shop, weekday=5, opens=datetime.time(14), closes=datetime.time(19))
    return shop


# 2026-11-20 is a Friday, 2026-11-21 a Saturday.
@pytest.mark.parametrize(
    "moment, is_open",
    [
        (at("2026-11-20", 17, 59), False),
        (at("2026-11-20", 18), True),
        (at("2026-11-20", 23, 59), True),
        (at("2026-11-21", 1, 59), True),  # after midnight, still Friday's range
        (at("2026-11-21", 2), False),
        (at("2026-11-21", 9, 29), False),
        (at("2026-11-21", 10), True),
        (at("2026-11-21", 13), False),  # lunch break
        (at("2026-11-21", 18, 59), True),
        (at("2026-11-21", 19), False),
        (at("2026-11-22", 1), False),  # Sunday: Saturday's range does not cross midnight
    ],
)
def test_opening_hours_across_midnight_and_lunch(night_shop, moment, is_open):
    assert night_shop.is_open_at(moment) is is_open
    # the batch version used by lists agrees
    assert listed_open(night_shop, moment) is is_open


def listed_open(shop, moment) -> bool:
    shops = [Shop.objects.get(pk=shop.pk)]
    attach_open_now(shops, moment, shop_id_of=lambda s: s.pk, attr="is_open")
    return shops[0].is_open


def test_closure_shuts_the_shop_whatever_the_hours(night_shop):
    Closure.objects.create(
        shop=night_shop,
        start_date=datetime.date(2026, 11, 21),
        end_date=datetime.date(2026, 11, 22),
        reason="Inventaire",
    )
    assert night_shop.is_open_at(at("2026-11-20", 20)) is True
    assert night_shop.is_open_at(at("2026-11-21", 10)) is False
    assert listed_open(night_shop, at("2026-11-21", 10)) is False
    assert listed_open(night_shop, at("2026-11-20", 20)) is True


@pytest.mark.parametrize("moment, badge", [(at("2026-11-21", 1), "ouvert maintenant"), (at("2026-11-21", 13), "fermé")])
def test_shop_page_says_open_or_closed(client, night_shop, monkeypatch, moment, badge):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    Closure.objects.create(
        shop=night_shop, start_date=datetime.date(2026, 12, 24), end_date=datetime.date(2026, 12, 26), reason="Noël"
    )
    Closure.objects.create(
        shop=night_shop, start_date=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 1, 2), reason="Passé"
    )
    html = client.get(night_shop.get_absolute_url()).content.decode()
    assert f'<span class="badge {"open" if badge.startswith("ouvert") else "none"}">{badge}' in html
    assert '<span class="range">18 h–2 h</span>' in html
    assert '<span class="range">9 h 30–12 h 30</span>, <span class="range">14 h–19 h</span>' in html
    assert "Noël" in html and "Passé" not in html


def test_book_page_and_directory_say_which_shops_are_open_now(client, night_shop, monkeypatch):
    from tests.factories import StockLineFactory

    monkeypatch.setattr("django.utils.timezone.now", lambda: at("2026-11-21", 1))  # Saturday 01:00
    day_shop = ShopFactory(name="Librairie de jour")  # 10:00-19:00
    book_line = StockLineFactory(shop=night_shop)
    StockLineFactory(shop=day_shop, book=book_line.book)
    for url in (book_line.book.get_absolute_url(), "/shops/"):
        html = client.get(url).content.decode()
        night, day = html.index(night_shop.name), html.index("Librairie de jour")
        badges = [(html.index("ouvert maintenant", night), "night"), (html.index("fermé", day), "day")]
        assert html.count("ouvert maintenant") == 1, url
        assert night < badges[0][0] and day < badges[1][0], url
