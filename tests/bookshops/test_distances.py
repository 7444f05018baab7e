import pytest
from geopy.distance import geodesic

from bookshops.gazetteer import get_gazetteer
from bookshops.geo import bounding_box, distance_km, shop_ids_near, shops_near
from bookshops.location import ReaderLocation
from bookshops.models import Shop
from catalogue.stock.selectors import nearest_holdings, stock_lines_for_book
from tests.factories import BookFactory, ShopFactory, StockLineFactory


def _point(name):
    place = get_gazetteer().search(name)[0]
    return place.latitude, place.longitude


@pytest.mark.parametrize(
    "a, b, km",
    [
        ("Bergerac", "Périgueux", 41.5),
        ("Dax", "Mont-de-Marsan", 49.0),
        ("Bordeaux", "Andernos-les-Bains", 42.7),
        ("Pau", "Bayonne", 92.7),
        ("Agen", "Villeneuve-sur-Lot", 23.9),
    ],
)
def test_distances_between_real_towns_match_geopy(a, b, km):
    (lat1, lon1), (lat2, lon2) = _point(a), _point(b)
    measured = distance_km(lat1, lon1, lat2, lon2)
    assert measured == pytest.approx(geodesic((lat1, lon1), (lat2, lon2)).km, abs=1e-9)
    assert measured == pytest.approx(km, abs=0.1)
    assert distance_km(lat2, lon2, lat1, lon1) == pytest.approx(measured)


@pytest.mark.parametrize("town", ["Bergerac", "Dax", "Bastia", "Lille"])
@pytest.mark.parametrize("radius", [10, 30, 100])
def test_bounding_box_holds_the_whole_circle(town, radius):
    lat, lon = _point(town)
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    for bearing in range(0, 360, 15):
        edge = geodesic(kilometers=radius).destination((lat, lon), bearing)
        assert min_lat <= edge.latitude <= max_lat
        assert min_lon <= edge.longitude <= max_lon
    # and it stays a small box, so the database really narrows
    assert max_lat - min_lat < radius / 50


def _shop_in(town, **kwargs):
    lat, lon = _point(town)
    return ShopFactory(name=f"Librairie de {town}", town=town, latitude=lat, longitude=lon, **kwargs)


@pytest.mark.django_db
def test_shops_near_are_ranked_nearest_first_within_the_radius():
    bergerac, perigueux, dax = _shop_in("Bergerac"), _shop_in("Périgueux"), _shop_in("Dax")
    _shop_in("Sarlat-la-Canéda", is_active=False)
    ShopFactory(name="Sans coordonnées", latitude=None, longitude=None)
    lat, lon = _point("Lembras")  # a village just east of Bergerac

    within_50 = shops_near(lat, lon, 50)
    assert within_50 == [bergerac, perigueux]
    assert within_50[0].distance_km == pytest.approx(geodesic((lat, lon), _point("Bergerac")).km)
    assert within_50[1].distance_km == pytest.approx(geodesic((lat, lon), _point("Périgueux")).km)
    assert 4 < within_50[0].distance_km < 6 < 30 < within_50[1].distance_km < 45
    assert shops_near(lat, lon, 10) == [bergerac]
    assert shop_ids_near(lat, lon, 50) == [bergerac.pk, perigueux.pk]
    assert shop_ids_near(lat, lon, None) == [bergerac.pk, perigueux.pk, dax.pk]
    everything = shops_near(lat, lon, None)
    assert [s.name for s in everything] == [bergerac.name, perigueux.name, dax.name, "Sans coordonnées"]
    assert everything[-1].distance_km is None


@pytest.mark.django_db
def test_book_lines_nearest_first_with_distances():
    book = BookFactory()
    far = StockLineFactory(book=book, shop=_shop_in("Périgueux"))
    near = StockLineFactory(book=book, shop=_shop_in("Bergerac"))
    StockLineFactory(book=book, shop=_shop_in("Dax"))
    StockLineFactory(book=book, shop=_shop_in("Lembras"), quantity=2, held=2)  # nothing available
    StockLineFactory(book=BookFactory(), shop=_shop_in("Creysse"))  # another book
    lat, lon = _point("Bergerac")

    stock = stock_lines_for_book(book, ReaderLocation(lat, lon, "Bergerac", 50))
    assert [line.pk for line in stock] == [near.pk, far.pk]
    assert stock.lines[0].distance_km == pytest.approx(0, abs=0.01)
    assert stock.lines[1].distance_km == pytest.approx(41.5, abs=0.1)
    assert stock.lines[0].available == 3
    assert not stock.none_within_radius
    assert stock.farther_count == 1  # Dax


@pytest.mark.django_db
def test_nothing_within_the_radius_shows_the_nearest_anyway():
    book = BookFactory()
    dax = StockLineFactory(book=book, shop=_shop_in("Dax"))
    pau = StockLineFactory(book=book, shop=_shop_in("Pau"))
    lat, lon = _point("Bergerac")

    stock = stock_lines_for_book(book, ReaderLocation(lat, lon, "Bergerac", 10))
    assert stock.none_within_radius
    assert [line.pk for line in stock] == [dax.pk, pau.pk]
    assert all(line.distance_km > 150 for line in stock)


@pytest.mark.django_db
def test_book_lines_without_location_are_by_shop_name():
    book = BookFactory()
    b = StockLineFactory(book=book, shop=ShopFactory(name="B"))
    a = StockLineFactory(book=book, shop=ShopFactory(name="A"))
    stock = stock_lines_for_book(book, None)
    assert [line.pk for line in stock] == [a.pk, b.pk]
    assert not stock.none_within_radius
    assert not stock_lines_for_book(BookFactory(), None)


@pytest.mark.django_db
def test_any_distance_lists_every_shop_nearest_first():
    book = BookFactory()
    dax = StockLineFactory(book=book, shop=_shop_in("Dax"))
    pau = StockLineFactory(book=book, shop=_shop_in("Pau"))
    lat, lon = _point("Bayonne")
    stock = stock_lines_for_book(book, ReaderLocation(lat, lon, "Bayonne", None))
    assert [line.pk for line in stock] == [dax.pk, pau.pk]
    assert stock.farther_count == 0


@pytest.mark.django_db
def test_nearest_anyway_are_the_five_nearest_in_order():
    book = BookFactory()
    towns = ["Pau", "Dax", "Bayonne", "Mont-de-Marsan", "Agen", "Périgueux", "Bordeaux", "Lille"]
    for town in towns:
        StockLineFactory(book=book, shop=_shop_in(town))
    StockLineFactory(book=book, shop=ShopFactory(name="Sans coordonnées", latitude=None, longitude=None))
    lat, lon = _point("Hendaye")
    expected = sorted(towns, key=lambda t: geodesic((lat, lon), _point(t)).km)[:5]

    stock = stock_lines_for_book(book, ReaderLocation(lat, lon, "Hendaye", 10))
    assert stock.none_within_radius
    assert [line.shop.town for line in stock] == expected
    assert expected[0] == "Bayonne"


@pytest.mark.django_db
def test_nearest_holdings_for_a_result_page():
    bergerac, perigueux, dax = _shop_in("Bergerac"), _shop_in("Périgueux"), _shop_in("Dax")
    both, far_only, sold_out = BookFactory(), BookFactory(), BookFactory()
    StockLineFactory(book=both, shop=perigueux)
    StockLineFactory(book=both, shop=bergerac)
    StockLineFactory(book=far_only, shop=dax)
    StockLineFactory(book=sold_out, shop=bergerac, quantity=1, held=1)
    lat, lon = _point("Lembras")

    holdings = nearest_holdings([both.pk, far_only.pk, sold_out.pk], ReaderLocation(lat, lon, "Lembras", 50))
    assert set(holdings) == {both.pk}
    assert holdings[both.pk].shop == bergerac
    assert holdings[both.pk].shops_within_radius == 2
    assert holdings[both.pk].distance_km == pytest.approx(geodesic((lat, lon), _point("Bergerac")).km)
    assert nearest_holdings([far_only.pk], ReaderLocation(lat, lon, "Lembras", None))[far_only.pk].shop == dax


@pytest.mark.django_db
def test_the_radius_is_decided_on_the_ellipsoid_even_at_its_edge():
    """shop_ids_near orders by the cheap sphere, but a shop is in range exactly when its geodesic is."""
    import random

    from geopy.distance import geodesic

    rng = random.Random(7)
    centre = (44.84, -0.58)
    shops = []
    for n in range(200):
        point = geodesic(kilometers=rng.uniform(29.6, 30.4)).destination(centre, rng.uniform(0, 360))
        shops.append(Shop(name=f"Bord {n}", slug=f"bord-{n}", latitude=point.latitude, longitude=point.longitude))
    Shop.objects.bulk_create(shops)
    expected = {
        pk
        for pk, lat, lon in Shop.objects.values_list("pk", "latitude", "longitude")
        if geodesic(centre, (lat, lon)).km <= 30
    }
    assert 50 < len(expected) < 150  # both sides of the edge are exercised
    assert set(shop_ids_near(*centre, 30)) == expected
