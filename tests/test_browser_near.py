import pytest
from playwright.sync_api import expect

from tests.factories import BookFactory, ShopFactory, StockLineFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_sets_a_postcode_and_sees_the_nearest_shop_first(live_server, page):
    book = BookFactory(title="Aliénor d'Aquitaine")
    StockLineFactory(
        book=book, shop=ShopFactory(name="Le Passeur", town="Périgueux", latitude=45.1869, longitude=0.7144)
    )
    StockLineFactory(book=book, shop=ShopFactory(name="La Mouette", town="Dax", latitude=43.7103, longitude=-1.0537))
    StockLineFactory(book=book, shop=ShopFactory(name="Montaigne", town="Bergerac", latitude=44.8516, longitude=0.4817))

    page.goto(live_server.url + "/shops/")
    page.get_by_label("Où êtes-vous ?").fill("24100")
    page.locator("#location-radius").select_option("any")
    page.get_by_role("button", name="Valider").click()
    expect(page.locator(".location-current")).to_contain_text("Bergerac (24100)")

    # the location is remembered: open the book page without any parameter
    page.goto(live_server.url + book.get_absolute_url())
    rows = page.locator(".shop-line")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Montaigne")
    expect(rows.nth(0).locator(".distance")).to_have_text("à moins d'un km")
    expect(rows.nth(1)).to_contain_text("Le Passeur")
    expect(rows.nth(2)).to_contain_text("La Mouette")
    # JavaScript is on: "Me localiser" appears in the change-place panel
    page.get_by_text("Changer de lieu").click()
    expect(page.get_by_role("button", name="Me localiser")).to_be_visible()


def test_me_localiser_uses_the_browser_position(live_server, page):
    book = BookFactory()
    StockLineFactory(book=book, shop=ShopFactory(name="Montaigne", town="Bergerac", latitude=44.8516, longitude=0.4817))
    StockLineFactory(book=book, shop=ShopFactory(name="La Mouette", town="Dax", latitude=43.7103, longitude=-1.0537))
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 43.712, "longitude": -1.052})

    page.goto(live_server.url + book.get_absolute_url())
    page.get_by_role("button", name="Me localiser").click()
    expect(page.locator(".location-current")).to_contain_text("près de Dax")
    assert "lat=43.712" in page.url and "lon=-1.052" in page.url
    expect(page.locator(".shop-line").nth(0)).to_contain_text("La Mouette")
