import pytest
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import RequestFactory
from django.urls import reverse

from bookshops.location import COOKIE_NAME, COOKIE_SALT, ReaderLocation, get_location
from tests.factories import BookFactory, ShopFactory, StockLineFactory

BERGERAC = (44.8516, 0.4817)
PERIGUEUX = (45.1869, 0.7144)
DAX = (43.7103, -1.0537)


def _sign(value):
    return signing.dumps(value, salt=COOKIE_SALT, compress=True)


def _request(query="", stored=None):
    request = RequestFactory().get("/" + query)
    if stored is not None:
        request.COOKIES[COOKIE_NAME] = _sign(stored)
    return request


def _written(request):
    """What the page would write into the location cookie."""
    return request._reader_location_cookie


def _cookie(client):
    """The location the browser keeps, read back from its signed cookie (None without one)."""
    morsel = client.cookies.get(COOKIE_NAME)
    if morsel is None or not morsel.value:
        return None
    return signing.loads(morsel.value, salt=COOKIE_SALT)


def test_postcode_in_query_sets_and_remembers_the_location():
    request = _request("?near=24100&radius=10")
    location = get_location(request)
    assert location == ReaderLocation(*BERGERAC, "Bergerac (24100)", 10)
    assert _written(request)["label"] == "Bergerac (24100)"
    # a later page without parameters reads it back from the cookie
    assert get_location(_request(stored=_written(request))) == location


def test_a_forged_or_broken_cookie_is_ignored():
    request = RequestFactory().get("/")
    forged = signing.dumps({"lat": 1.0, "lon": 2.0, "label": "<b>forged</b>", "radius_km": 30}, key="guessed")
    request.COOKIES[COOKIE_NAME] = forged
    assert get_location(request) is None
    assert get_location(_request(stored=["not", "a", "dict"])) is None
    assert get_location(_request(stored={"lat": 1.0})) is None


def test_town_name_ignores_accents_and_case_and_radius_any():
    location = get_location(_request("?near=PERIGUEUX&radius=any"))
    assert (location.lat, location.lon, location.radius_km) == (*PERIGUEUX, None)


def test_coordinates_in_query_with_default_radius():
    location = get_location(_request("?lat=43.71&lon=-1.05"))
    assert (location.lat, location.lon, location.radius_km) == (43.71, -1.05, 30)
    assert location.label == "près de Dax"


@pytest.mark.parametrize("query", ["?lat=abc&lon=1", "?lat=95&lon=1"])
def test_bad_coordinates_are_an_error(query):
    request = _request(query)
    assert get_location(request) is None
    assert "Coordonnées" in request._reader_location_state.error


def test_radius_alone_changes_the_remembered_radius_and_bad_radius_keeps_it():
    stored = {"lat": 1.0, "lon": 2.0, "label": "X", "radius_km": 30}
    request = _request("?radius=50", stored)
    assert get_location(request).radius_km == 50
    stored = _written(request)
    assert stored["radius_km"] == 50
    assert get_location(_request("?radius=37", stored)).radius_km == 50
    assert get_location(_request("", stored)).radius_km == 50


def test_no_location_at_all():
    assert get_location(_request()) is None


@pytest.mark.django_db
def test_unknown_place_gets_a_clear_message_not_a_silent_default(client):
    client.cookies[COOKIE_NAME] = _sign({"lat": 1.0, "lon": 2.0, "label": "Ailleurs", "radius_km": 30})
    html = client.get("/shops/?near=Trifouillis-les-Oies").content.decode()
    assert "Lieu inconnu : « Trifouillis-les-Oies »" in html
    assert "Ailleurs" not in html  # the old place is not used behind the reader's back
    assert _cookie(client)["label"] == "Ailleurs"  # …nor lost


@pytest.mark.django_db
def test_ambiguous_name_offers_the_choices_as_links(client):
    html = client.get("/shops/?near=saint-martin&departement=54").content.decode()
    assert "Plusieurs communes s'appellent « saint-martin »" in html
    assert 'href="?near=Saint-Martin%20%2854%29&amp;departement=54"' in html
    assert "Saint-Martin (65360, Occitanie)" in html
    assert _cookie(client) is None
    follow = client.get("/shops/?near=Saint-Martin%20%2854%29").content.decode()
    assert "Saint-Martin (54450)" in follow
    assert _cookie(client)["label"] == "Saint-Martin (54450)"


@pytest.mark.django_db
def test_every_page_has_the_control_and_the_header_shows_the_location(client):
    html = client.get(reverse("catalogue:home")).content.decode()
    assert "Où êtes-vous ?" in html and 'name="near"' in html
    assert "Oublier ma position" not in html
    html = client.get(reverse("catalogue:home") + "?near=40100&radius=50").content.decode()
    assert "<strong>Dax (40100)</strong>" in html
    assert "dans un rayon de 50 km" in html
    assert '<option value="50" selected>' in html
    assert "Oublier ma position" in html


@pytest.mark.django_db
def test_form_carries_the_other_query_parameters(client):
    html = client.get("/search/?q=Ali%C3%A9nor").content.decode()
    assert '<input type="hidden" name="q" value="Aliénor">' in html


@pytest.mark.django_db
def test_forget_clears_the_cookie_and_goes_back(client):
    client.get("/?near=24100")
    assert _cookie(client)["label"] == "Bergerac (24100)"
    response = client.post(reverse("bookshops:location_forget"), {"next": "/shops/"})
    assert response.status_code == 302 and response.url == "/shops/"
    assert _cookie(client) is None
    assert "Bergerac (24100)" not in client.get("/").content.decode()
    response = client.post(reverse("bookshops:location_forget"), {"next": "https://evil.example/"})
    assert response.url == "/"


@pytest.mark.django_db
def test_book_page_lists_nearest_shop_first_with_distance(client):
    book = BookFactory()
    StockLineFactory(book=book, shop=ShopFactory(name="La Mouette", town="Dax", latitude=DAX[0], longitude=DAX[1]))
    StockLineFactory(
        book=book, shop=ShopFactory(name="Le Passeur", town="Périgueux", latitude=PERIGUEUX[0], longitude=PERIGUEUX[1])
    )
    StockLineFactory(
        book=book, shop=ShopFactory(name="Montaigne", town="Bergerac", latitude=BERGERAC[0], longitude=BERGERAC[1])
    )

    html = client.get(book.get_absolute_url() + "?near=24100&radius=50").content.decode()
    assert html.index("Montaigne") < html.index("Le Passeur")
    assert "La Mouette" not in html
    assert "42 km" in html  # Bergerac → Périgueux (41.5 km), whole km past 10 km
    assert "Une autre librairie du réseau l'a, plus loin." in html

    html = client.get(book.get_absolute_url() + "?radius=10&near=Pau").content.decode()
    assert "Aucune librairie à moins de 10 km n'a ce livre. Voici les plus proches :" in html
    assert html.index("La Mouette") < html.index("Montaigne") < html.index("Le Passeur")


@pytest.mark.django_db
def test_book_page_without_location_shows_the_stock_date_and_services(client, settings):
    import datetime

    from django.utils import timezone

    shop = ShopFactory(name="Montaigne", offers_postal_delivery=True)
    shop.stock_reported_at = timezone.make_aware(datetime.datetime(2026, 11, 21, 9))
    shop.save()
    line = StockLineFactory(shop=shop, quantity=4, held=1)
    html = client.get(line.book.get_absolute_url()).content.decode()
    assert "<dt>Stock mis à jour</dt><dd>21 novembre</dd>" in html
    assert "envoi par la poste" in html
    assert "<dt>Exemplaires</dt><dd>3</dd>" in html
    assert "Distance" not in html


def test_nearest_town_from_the_grid_is_the_nearest_of_all_towns():
    """The grid lookup labels a position with the same town as a scan of every town would."""
    import math
    import random

    from bookshops.gazetteer import get_gazetteer
    from bookshops.location import nearest_place

    towns = [place for places in get_gazetteer().by_name.values() for place in places]
    rng = random.Random(3)
    for _ in range(40):
        lat, lon = rng.uniform(42.5, 50.5), rng.uniform(-4.5, 7.5)
        scale = math.cos(math.radians(lat)) ** 2
        score, best = min(((p.latitude - lat) ** 2 + scale * (p.longitude - lon) ** 2, p) for p in towns)
        assert nearest_place(lat, lon) == (best if score < 0.5**2 else None)  # at sea: no town name


@pytest.mark.django_db
def test_anonymous_readers_with_a_location_write_no_session(client, settings):
    settings.DEBUG = False
    book = BookFactory()
    StockLineFactory(book=book, shop=ShopFactory(latitude=BERGERAC[0], longitude=BERGERAC[1]))
    for path in (
        "/?near=24100&radius=30",
        "/",
        book.get_absolute_url(),
        "/shops/",
        "/search/?q=rien-du-tout",
        "/?radius=50",
        "/?lat=43.71&lon=-1.05",
    ):
        assert client.get(path).status_code == 200
    assert _cookie(client)["label"] == "près de Dax"
    assert Session.objects.count() == 0
    response = client.get("/")
    assert response.cookies.get("sessionid") is None
