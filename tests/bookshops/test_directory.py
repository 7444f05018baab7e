import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from bookshops.models import CoordinatesSource, Shop
from tests.factories import ShopFactory, UserFactory


@pytest.fixture
def shops(db):
    return {
        "bergerac": ShopFactory(
            name="Montaigne", postcode="24100", town="Bergerac", department="24", latitude=44.8516, longitude=0.4817
        ),
        "perigueux": ShopFactory(
            name="Le Passeur",
            postcode="24000",
            town="Périgueux",
            department="24",
            latitude=45.1869,
            longitude=0.7144,
            offers_postal_delivery=True,
        ),
        "dax": ShopFactory(
            name="La Mouette", postcode="40100", town="Dax", department="40", latitude=43.7103, longitude=-1.0537
        ),
        "closed": ShopFactory(name="Ancienne adhérente", is_active=False),
    }


def _names(html, candidates):
    return sorted((html.index(n), n) for n in candidates if n in html)


def test_directory_lists_every_member_by_name_without_location(client, shops):
    html = client.get(reverse("bookshops:list")).content.decode()
    assert [n for _, n in _names(html, ["Montaigne", "Le Passeur", "La Mouette", "Ancienne adhérente"])] == [
        "La Mouette",
        "Le Passeur",
        "Montaigne",
    ]
    points = json.loads(html.split('<script id="map-points" type="application/json">')[1].split("</script>")[0])
    assert {p["name"] for p in points} == {"Montaigne", "Le Passeur", "La Mouette"}
    assert "data-shop-map hidden" in html  # without JavaScript, only the list shows
    assert "vendor/leaflet/leaflet.js" in html


def test_directory_nearest_first_with_location_and_filters(client, shops):
    html = client.get(reverse("bookshops:list") + "?near=Mont-de-Marsan").content.decode()
    assert [n for _, n in _names(html, ["Montaigne", "Le Passeur", "La Mouette"])] == [
        "La Mouette",
        "Montaigne",
        "Le Passeur",
    ]
    assert "49 km" in html  # Mont-de-Marsan → Dax, whole km past 10 km
    html = client.get(reverse("bookshops:list") + "?departement=24").content.decode()
    assert "Montaigne" in html and "Le Passeur" in html and "La Mouette" not in html
    html = client.get(reverse("bookshops:list") + "?service=envoi").content.decode()
    assert "Le Passeur" in html and "Montaigne" not in html


def test_shop_page_has_contact_services_collect_and_a_search_box_for_its_stock(client, shops):
    shop = shops["perigueux"]
    html = client.get(shop.get_absolute_url() + "?near=24100").content.decode()
    assert "24000 Périgueux" in html and 'href="tel:05 56 00 00 00"' in html
    assert "Envoi par la poste" in html
    assert "Le livre vous attend ensuite 7 jours d'ouverture" in html
    assert f'<input type="hidden" name="shop" value="{shop.slug}">' in html
    assert 'action="/search/"' in html
    assert "à 42 km de Bergerac (24100)" in html
    assert client.get(shops["closed"].get_absolute_url()).status_code == 404


def test_staff_correct_coordinates_by_hand_in_the_admin(client, shops):
    staff = UserFactory(is_staff=True)
    staff.save()  # keep the hashed password the session is checked against
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_shop", "view_shop"]))
    shop = shops["bergerac"]
    shop.staff.add(staff)
    client.force_login(staff)
    url = reverse("admin:bookshops_shop_change", args=[shop.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("staff", "slug", "is_active", "siret")}
    data.update({"latitude": "44.85", "longitude": "0.49", "name": shop.name, "hold_days": 7, "pickup_delay_hours": 2})
    for prefix in ("opening_hours", "closures"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    shop.refresh_from_db()
    assert (shop.latitude, shop.longitude, shop.coordinates_source) == (44.85, 0.49, CoordinatesSource.MANUAL)
    # another shop stays out of reach
    assert client.get(reverse("admin:bookshops_shop_change", args=[shops["dax"].pk])).status_code == 302


def test_admin_geocode_action(admin_client, shops):
    shop = ShopFactory(name="À géocoder", postcode="40000", town="Mont-de-Marsan", latitude=None, longitude=None)
    response = admin_client.post(
        reverse("admin:bookshops_shop_changelist"), {"action": "geocode_selected", "_selected_action": [shop.pk]}
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.latitude, shop.longitude, shop.coordinates_source) == (43.8902, -0.4971, CoordinatesSource.GEOCODER)
    assert Shop.objects.get(pk=shops["dax"].pk).coordinates_source == ""
