"""What readers read: French wording, prices, opening times, typos in a town, genres, sorts, covers, the demo's examples."""

import datetime
import re
import zoneinfo
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from bookshops.models import Closure, OpeningHours
from bookshops.templatetags.bookshops_tags import french_of, opens_label
from catalogue.models import Subject
from catalogue.search import search_books, search_index_rebuild, update_index
from catalogue.search.forms import SearchForm, genres_in_use
from catalogue.templatetags.catalogue_tags import euros
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


def at(day: str, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    "place, expected",
    [
        ("Bergerac", "de Bergerac"),
        ("Andernos-les-Bains", "d'Andernos-les-Bains"),
        ("Agen (47000)", "d'Agen (47000)"),
        ("Hendaye", "d'Hendaye"),
        ("Le Bouscat", "du Bouscat"),
        ("Les Eyzies", "des Eyzies"),
        ("Île-d'Aix", "d'Île-d'Aix"),
        ("près de Dax", "de Dax"),
        ("votre position", "de votre position"),
    ],
)
def test_french_elides_de_before_a_vowel(place, expected):
    assert french_of(place) == expected


def test_the_search_filter_elides_before_a_vowel(client, db):
    html = unescape(client.get(reverse("catalogue:search"), {"q": "x", "near": "33510"}).content.decode())
    assert "à moins de 30 km d'Andernos-les-Bains" in html
    assert "de Andernos" not in html


def test_prices_keep_the_euro_on_the_same_line():
    with translation.override("fr"):
        assert euros(Decimal("23.7")) == f"23,70{NBSP}€"
        assert euros(None) == "—"
    with translation.override("en"):
        assert euros(Decimal("23.7")) == "€23.70"


def test_home_count_has_a_thousands_separator(client, db, settings):
    from django.core.cache import cache

    cache.set("home:network", {"shops": 40, "books": 5024}, 60)
    html = client.get("/").content.decode()
    assert re.search(r"5[\u00a0\u202f ]024 titres", html), "5 024 with a (narrow) no-break space"


@pytest.fixture
def lunch_shop(db):
    """Tuesday to Saturday 9:30-12:30 and 14:00-19:00."""
    shop = ShopFactory(open_every_day=False)
    for day in range(1, 6):
        OpeningHours.objects.create(shop=shop, weekday=day, opens=datetime.time(9, 30), closes=datetime.time(12, 30))
        OpeningHours.objects.create(shop=shop, weekday=day, opens=datetime.time(14), closes=datetime.time(19))
    return shop


# 2026-11-23 is a Monday.
@pytest.mark.parametrize(
    "moment, expected",
    [
        (at("2026-11-24", 13), "ouvre à 14 h"),  # lunch break
        (at("2026-11-24", 20), "ouvre demain à 9 h 30"),  # Tuesday evening
        (at("2026-11-28", 20), "ouvre mardi à 9 h 30"),  # Saturday evening: closed Sunday and Monday
    ],
)
def test_closed_says_when_the_shop_opens(lunch_shop, monkeypatch, moment, expected):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    with translation.override("fr"):
        assert opens_label(lunch_shop.next_opening()) == expected


def test_a_closure_pushes_the_next_opening_back(lunch_shop, monkeypatch):
    moment = at("2026-11-24", 20)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    Closure.objects.create(shop=lunch_shop, start_date=datetime.date(2026, 11, 25), end_date=datetime.date(2026, 12, 3))
    with translation.override("fr"):
        assert opens_label(lunch_shop.next_opening()) == "ouvre le 4 décembre à 9 h 30"
    with translation.override("en"):
        assert opens_label(lunch_shop.next_opening()) == "opens on 4 December at 9:30"


def test_a_shop_without_hours_never_opens(db):
    assert ShopFactory(open_every_day=False).next_opening() is None


def test_book_page_cards_say_when_a_closed_shop_opens(client, lunch_shop, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: at("2026-11-24", 20))
    line = StockLineFactory(shop=lunch_shop, price=Decimal("23.70"))
    html = client.get(line.book.get_absolute_url()).content.decode()
    assert "fermé · ouvre demain à 9 h 30" in html
    assert f"23,70{NBSP}€" in html
    assert "Stock du" not in html


def test_a_town_with_one_typo_offers_the_towns_it_could_be(client, db):
    html = client.get("/shops/", {"near": "Bordeau"}).content.decode()
    assert "Lieu inconnu" not in html
    assert "Aucune commune ne s'appelle « Bordeau ». Vouliez-vous dire :" in html
    assert "Bordeaux (33000" in html
    html = client.get("/shops/", {"near": "Xyzzyq"}).content.decode()
    assert "Lieu inconnu" in html


def test_genre_filter_shows_names_never_bare_codes(db):
    named = Subject.objects.create(scheme=Subject.Scheme.CLIL, code="3435", name="ROMANS")
    bare = Subject.objects.create(scheme=Subject.Scheme.THEMA, code="FFP", name="FFP")
    empty = Subject.objects.create(scheme=Subject.Scheme.THEMA, code="1DNS", name="")
    accented = Subject.objects.create(scheme=Subject.Scheme.CLIL, code="3377", name="Écologie")
    book = BookFactory()
    book.subjects.add(named, bare, empty, accented)
    assert {(pk, name) for pk, name, _english in genres_in_use()} == {(named.pk, "Romans"), (accented.pk, "Écologie")}
    # The filter sorts them as a reader reads, accents aside.
    assert SearchForm().fields["genre"].choices[1:] == [(accented.pk, "Écologie"), (named.pk, "Romans")]


def test_results_show_the_price_and_sort_by_title_or_date(client, db):
    old = BookFactory(title="Zadig", published_on=datetime.date(1990, 1, 1))
    new = BookFactory(title="Aube sur la mer", published_on=datetime.date(2024, 1, 1))
    undated = BookFactory(title="Mer calme")
    for book in (old, new, undated):
        ContributorFactory(book=book, name="Camille Mer")
    StockLineFactory(book=old, price=Decimal("8.30"))
    StockLineFactory(book=new, price=Decimal("19.00"), quantity=0)  # no copy now: its price still shows
    update_index([old.pk, new.pk, undated.pk])
    titles = lambda sort: [b.title for b in search_books(query="mer", sort=sort).books]  # noqa: E731
    assert titles("titre") == ["Aube sur la mer", "Mer calme", "Zadig"]
    assert titles("date") == ["Aube sur la mer", "Zadig", "Mer calme"]
    assert set(titles("pertinence")) == {"Zadig", "Aube sur la mer", "Mer calme"}
    html = client.get(reverse("catalogue:search"), {"q": "mer", "sort": "titre"}).content.decode()
    assert f"8,30{NBSP}€" in html and f"19,00{NBSP}€" in html
    assert '<option value="titre" selected>' in html
    # a sort that does not exist is ignored, not an error
    assert client.get(reverse("catalogue:search"), {"q": "mer", "sort": "'; DROP"}).status_code == 200


def test_covers_are_generated_when_the_publisher_has_none(client, db):
    book = BookFactory(title="Essais", isbn="9782070106226")
    ContributorFactory(book=book, name="Michel de Montaigne")
    html = client.get(book.get_absolute_url()).content.decode()
    assert 'class="cover cover-large cover-generated cover-hue-' in html
    assert "Pas d'image de couverture pour « Essais »" in html
    assert "Michel de Montaigne</span>" in html
    book.cover_url = "https://covers.example/9782070106226.jpg"
    book.save()
    html = client.get(book.get_absolute_url()).content.decode()
    assert 'alt="Couverture de « Essais »"' in html and 'loading="lazy"' in html and 'height="300"' in html


def test_a_book_in_another_language_says_so(client, db):
    book = BookFactory(title="Roseanna", language="eng", summary="A woman's body is dredged up.")
    html = client.get(book.get_absolute_url()).content.decode()
    assert '<h1 lang="en">Roseanna' in html and '<p lang="en">A woman' in html
    french = BookFactory(language="fre")
    assert "<h1>" in client.get(french.get_absolute_url()).content.decode()


def test_language_menu_names_each_language_in_its_own_language(client, db):
    html = client.get("/").content.decode()
    assert '<option value="en" lang="en">English</option>' in html


def test_reader_page_lists_each_day_once(client, lunch_shop):
    from tests.factories import reserve

    reservation = reserve(StockLineFactory(shop=lunch_shop))
    html = client.get(reservation.get_reader_url()).content.decode()
    assert html.count("Mardi</span>") == 1
    assert '<span class="range">9 h 30–12 h 30</span>, <span class="range">14 h–19 h</span>' in html


def test_accessibility_statement_is_linked_from_every_page(client, db, settings):
    html = client.get("/").content.decode()
    assert f'href="{reverse("accessibility")}"' in html
    statement = client.get(reverse("accessibility")).content.decode()
    for part in ("WCAG 2.2", "RGAA", "2 décembre 2026", "Limites connues", settings.PORTAL_CONTACT_EMAIL):
        assert part in statement


def test_every_page_has_a_favicon_and_no_inline_script_or_style(client, db):
    html = client.get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
    from django.contrib.staticfiles import finders

    assert finders.find("favicon.svg")
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html)


def test_the_search_box_examples_all_find_something_in_the_demo(client, db):
    from demo.services import demo_load

    demo_load(books=20)
    search_index_rebuild()  # the imports refresh it on commit, which this test's transaction never reaches
    html = unescape(client.get("/").content.decode())
    examples = re.search(r'id="home-q"[^>]*placeholder="ex\. ([^"]+)"', html).group(1)
    for example in [e.strip() for e in examples.replace("’", "'").split(",")]:
        response = client.get(reverse("catalogue:search"), {"q": example})
        found = response.status_code == 302 or "livre trouvé" in response.content.decode()
        assert found, example
