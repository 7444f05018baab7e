import pytest

from bookshops.gazetteer import department_of, get_gazetteer, normalize_name
from bookshops.geocoding import OfflineGazetteer


@pytest.fixture(scope="module")
def gazetteer():
    return get_gazetteer()


def test_loaded_once_per_process():
    assert get_gazetteer() is get_gazetteer()


@pytest.mark.parametrize(
    "postcode, town, lat, lon",
    [
        ("24100", "Bergerac", 44.8516, 0.4817),
        ("24000", "Périgueux", 45.1869, 0.7144),
        ("40100", "Dax", 43.7103, -1.0537),
        ("40000", "Mont-de-Marsan", 43.8902, -0.4971),
        ("33510", "Andernos-les-Bains", 44.7457, -1.1035),
        ("20200", "Bastia", 42.7022, 9.4512),
    ],
)
def test_postcode_gives_its_main_town(gazetteer, postcode, town, lat, lon):
    place = gazetteer.search(postcode)[0]
    assert (place.name, place.latitude, place.longitude) == (town, lat, lon)


def test_cedex_codes_are_not_shipped(gazetteer):
    assert gazetteer.search("24101") == []  # 24101 CEDEX, Bergerac
    assert all(len(code) == 5 and code.isdigit() for code in gazetteer.by_postcode)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("perigueux", "Périgueux"),
        ("PÉRIGUEUX", "Périgueux"),
        ("mont de marsan", "Mont-de-Marsan"),
        ("St Emilion", "Saint-Émilion"),
        ("ste foy la grande", "Sainte-Foy-la-Grande"),
        ("Sainte-Foy-la-Grande", "Sainte-Foy-la-Grande"),
        ("  andernos-les-bains ", "Andernos-les-Bains"),
        ("Andernos", "Andernos-les-Bains"),
        ("33510 Andernos-les-Bains", "Andernos-les-Bains"),
    ],
)
def test_town_names_ignore_accents_case_hyphens_and_saint(gazetteer, query, expected):
    places = gazetteer.search(query)
    assert [p.name for p in places] == [expected]


def test_ambiguous_name_returns_every_commune(gazetteer):
    places = gazetteer.search("Saint-Martin")
    assert len(places) >= 4
    assert {"32", "54", "65", "67"} <= {p.department for p in places}
    assert all(p.name == "Saint-Martin" for p in places)


def test_choice_of_an_ambiguous_name_is_unique(gazetteer):
    places = gazetteer.search("Saint-Martin (54)")
    assert [(p.postcode, p.department) for p in places] == [("54450", "54")]
    assert gazetteer.search(places[0].choice) == places


def test_one_commune_with_several_postcodes_is_not_ambiguous(gazetteer):
    assert [p.postcode for p in gazetteer.search("Bordeaux")] == ["33000"]


def test_unknown_places(gazetteer):
    assert gazetteer.search("Trifouillis-les-Oies") == []
    assert gazetteer.search("99999") == []
    assert gazetteer.search("") == []


def test_normalize_and_departments():
    assert normalize_name("Saint-Jean-de-Luz") == normalize_name("st jean de luz") == "st jean de luz"
    assert normalize_name("L'Isle-sur-la-Sorgue") == "l isle sur la sorgue"
    assert department_of("20000") == "2A"
    assert department_of("20200") == "2B"
    assert department_of("97400") == "974"
    assert department_of("64000") == "64"


def test_offline_geocoder_is_a_geopy_geocoder_for_addresses():
    geocoder = OfflineGazetteer()
    location = geocoder.geocode("12 rue Sainte-Catherine, 24100 Bergerac, France")
    assert (location.latitude, location.longitude) == (44.8516, 0.4817)
    assert "Bergerac" in location.address
    creysse = geocoder.geocode("Le bourg, 24100 Creysse")
    assert creysse.raw["place"].name == "Creysse"
    assert geocoder.geocode("nowhere at all") is None
