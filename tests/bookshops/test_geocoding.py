import pytest
from geopy.exc import GeocoderUnavailable
from geopy.geocoders import BANFrance, Nominatim
from geopy.location import Location

from bookshops import geocoding
from bookshops.exceptions import GeocodingFailed
from bookshops.location import resolve_place
from bookshops.services import shop_geocode
from tests.factories import ShopFactory


@pytest.fixture
def fresh_geocoder():
    geocoding.reset_geocoder()
    yield
    geocoding.reset_geocoder()


@pytest.mark.parametrize(
    "name, cls", [("offline", geocoding.OfflineGazetteer), ("banfrance", BANFrance), ("nominatim", Nominatim)]
)
def test_geocoder_is_chosen_in_settings(settings, fresh_geocoder, name, cls):
    settings.GEOCODER = name
    settings.GEOCODER_USER_AGENT = "tests"
    assert type(geocoding.get_geocoder()) is cls


def test_unknown_geocoder_setting_is_refused(settings, fresh_geocoder):
    settings.GEOCODER = "google"
    with pytest.raises(ValueError, match="unknown GEOCODER"):
        geocoding.get_geocoder()


class FakeOnline:
    """Stands in for an online geopy geocoder: records queries, never touches the network."""

    def __init__(self, answer=None, error=None):
        self.queries, self.answer, self.error = [], answer, error

    def geocode(self, query, exactly_one=True):
        self.queries.append(query)
        if self.error:
            raise self.error
        return self.answer


def test_online_geocoder_is_asked_only_when_the_gazetteer_fails(settings, monkeypatch):
    settings.GEOCODER = "banfrance"
    fake = FakeOnline(Location("Lieu-dit", (44.1, 0.2), {}))
    monkeypatch.setattr(geocoding, "_geocode_callable", lambda: fake.geocode)
    assert resolve_place("24100")[0].name == "Bergerac"
    assert fake.queries == []
    place = resolve_place("Lieu-dit des Trois Chênes")[0]
    assert (place.latitude, place.longitude, place.label) == (44.1, 0.2, "Lieu-dit des Trois Chênes")
    assert fake.queries == ["Lieu-dit des Trois Chênes, France"]


@pytest.mark.django_db
def test_geocoder_failure_is_a_domain_error_and_changes_nothing(settings, monkeypatch):
    settings.GEOCODER = "nominatim"
    monkeypatch.setattr(geocoding, "_geocode_callable", lambda: FakeOnline(error=GeocoderUnavailable("down")).geocode)
    shop = ShopFactory(latitude=44.0, longitude=0.5)
    with pytest.raises(GeocodingFailed) as failure:
        shop_geocode(shop=shop)
    assert "down" in failure.value.reason
    shop.refresh_from_db()
    assert (shop.latitude, shop.longitude) == (44.0, 0.5)
    assert resolve_place("Lieu-dit des Trois Chênes") == []  # and the reader is told the place is unknown
