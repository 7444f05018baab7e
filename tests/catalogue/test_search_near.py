"""Search results for a reader who said where they are."""

import pytest
from django.urls import reverse

from catalogue.search import update_index
from tests.factories import BookFactory, ShopFactory, StockLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def network():
    bergerac = ShopFactory(name="Le Chat qui lit", town="Bergerac", latitude=44.8533, longitude=0.4833)
    pau = ShopFactory(name="Les Mots de Pau", town="Pau", latitude=43.2951, longitude=-0.3708)
    held_far = BookFactory(title="Jardins d'hiver")
    held_near = BookFactory(title="Jardins d'été")
    both = BookFactory(title="Jardins du monde")
    StockLineFactory(shop=pau, book=held_far)
    StockLineFactory(shop=bergerac, book=held_near)
    StockLineFactory(shop=pau, book=both)
    StockLineFactory(shop=bergerac, book=both)
    update_index([held_far.pk, held_near.pk, both.pk])
    return bergerac, pau


def result_titles(response):
    return [book.title for book in response.context["results"].books]


def test_books_held_near_the_reader_rank_first_with_the_nearest_shop(client, network):
    response = client.get(reverse("catalogue:search"), {"q": "jardins", "near": "24100", "radius": "30"})
    titles = result_titles(response)
    assert set(titles[:2]) == {"Jardins d'été", "Jardins du monde"}
    assert titles[2] == "Jardins d'hiver"
    html = response.content.decode()
    assert "Le plus proche : Le Chat qui lit, à " in html
    assert "1 librairie à moins de 30 km" in html
    assert "Aucune librairie à moins de 30 km" in html  # the book only held in Pau


def test_near_only_keeps_books_held_within_the_radius(client, network):
    client.get("/", {"near": "Bergerac", "radius": "30"})  # remembered in the session
    response = client.get(reverse("catalogue:search"), {"q": "jardins", "near_only": "on"})
    assert sorted(result_titles(response)) == ["Jardins d'été", "Jardins du monde"]


def test_near_only_is_ignored_without_a_location(client, network):
    response = client.get(reverse("catalogue:search"), {"q": "jardins", "near_only": "on"})
    assert len(result_titles(response)) == 3
    assert "Le plus proche" not in response.content.decode()


def test_search_limited_to_one_shops_stock(client, network):
    bergerac, pau = network
    response = client.get(reverse("catalogue:search"), {"q": "jardins", "shop": pau.slug})
    assert sorted(result_titles(response)) == ["Jardins d'hiver", "Jardins du monde"]
    assert "Rechercher dans le stock de Les Mots de Pau" in response.content.decode()


def test_unknown_shop_slug_searches_the_whole_network(client, network):
    response = client.get(reverse("catalogue:search"), {"q": "jardins", "shop": "n-existe-pas"})
    assert len(result_titles(response)) == 3


def test_the_shops_in_range_are_looked_up_once_per_results_page(client, network):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("catalogue:search"), {"q": "jardins", "near": "24100", "radius": "30"})
    range_lookups = [q["sql"] for q in queries if 'FROM "bookshops_shop"' in q["sql"] and "BETWEEN" in q["sql"]]
    assert len(range_lookups) == 1
