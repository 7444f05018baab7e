"""A reader types a query on the home page, opens a result and sees which shops hold the book."""

import pytest

from catalogue.search import update_index
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_from_home_to_book_page_with_its_shops(live_server, page):
    book = BookFactory(title="Aliénor d'Aquitaine", publisher="Le Livre de Poche")
    ContributorFactory(book=book, name="Régine Pernoud")
    StockLineFactory(book=book, shop=ShopFactory(name="Librairie Mollat", town="Bordeaux"), quantity=2)
    StockLineFactory(book=book, shop=ShopFactory(name="Librairie La Machine à Lire", town="Bordeaux"), quantity=1)
    other = BookFactory(title="Le temps des cathédrales")
    update_index([book.pk, other.pk])

    page.goto(live_server.url + "/")
    page.get_by_label("Titre, auteur, éditeur ou ISBN").fill("aliénor pernou")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=*")
    assert page.locator(".result-count").inner_text() == "1 livre trouvé"
    assert "En stock dans 2 librairies" in page.locator(".result").inner_text()

    page.get_by_role("link", name="Aliénor d'Aquitaine").click()
    page.wait_for_url(f"**/books/{book.isbn}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Aliénor d'Aquitaine")
    shops = page.locator(".offers .offer")
    assert shops.count() == 2
    assert "Librairie Mollat" in shops.nth(1).inner_text()
    assert "Librairie La Machine à Lire" in shops.nth(0).inner_text()
