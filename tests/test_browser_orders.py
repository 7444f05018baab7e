import datetime
import os
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from catalogue.models import Book
from catalogue.stock.snapshots import stock_import
from orders.models import Alert, Order
from tests.axe import axe_inject
from tests.factories import BookFactory, ShopFactory, StockLineFactory, staff_member

#: Where the screenshots go (looked at by hand, never committed).
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/orders-shots"))
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
ORDER_PERMS = (
    "reservations.view_reservation",
    "reservations.change_reservation",
    "orders.view_order",
    "orders.change_order",
)


def check(page, name: str) -> None:
    """Screenshot, no serious or critical axe-core violation (WCAG 2.0-2.2 A/AA), nothing wider than the screen."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    axe_inject(page)
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}})"
    )
    serious = [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{name} scrolls sideways"


def _path(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_near_bayonne_is_told_when_a_bayonne_shop_gets_the_book_and_reserves(page, live_server):
    cache.clear()
    book = BookFactory(title="Les Chemins de Compostelle")
    StockLineFactory(
        book=book,
        shop=ShopFactory(
            name="Librairie Marbot", town="Périgueux", postcode="24000", latitude=45.1847, longitude=0.7214
        ),
    )
    bayonne = ShopFactory(name="Librairie Elkar", town="Bayonne", postcode="64100", latitude=43.4933, longitude=-1.4753)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + book.get_absolute_url() + "?near=64100")
    assert "Aucune librairie à moins de 30 km" in page.content()
    page.get_by_role("link", name="Prévenez-moi quand il est disponible près de chez moi").click()
    page.get_by_label("Votre e-mail").fill("lea@example.org")
    assert page.get_by_label(re.compile("près de Bayonne")).is_checked()
    check(page, "alert-form")
    page.get_by_role("button", name="Me prévenir").click()
    assert "confirmez votre alerte" in page.locator(".messages").inner_text()

    confirm = next(m for m in mail.outbox if "Confirmez votre alerte" in m.subject)
    page.goto(live_server.url + _path(re.search(r"https?://\S+/orders/alerts/confirm/\S+/", confirm.body).group(0)))
    page.get_by_role("button", name="Je confirme").click()
    assert "Alerte confirmée" in page.content()

    # The Bayonne shop's stock file brings the book in.
    stock_import(shop=bayonne, data=f"EAN;Qté;Prix\r\n{book.isbn};2;18,50\r\n".encode(), partial=True)
    [available] = [m for m in mail.outbox if "disponible près de chez vous" in m.subject]
    assert "Librairie Elkar" in available.body and "Marbot" not in available.body
    assert Alert.objects.get().fulfilled_at is not None
    page.goto(live_server.url + _path(re.search(r"https?://\S+/reservations/new/\d+/", available.body).group(0)))
    page.get_by_label("Votre nom").fill("Léa Etxeberria")
    page.get_by_label("Votre e-mail").fill("lea@example.org")
    page.get_by_role("button", name="Réserver").click()
    assert "Demandée" in page.locator(".status").inner_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_orders_a_book_nobody_holds_and_follows_each_step(page, live_server, browser_context_args):
    cache.clear()
    book = BookFactory(title="Traité des couleurs")
    shop = ShopFactory(
        name="Librairie Elkar",
        town="Bayonne",
        postcode="64100",
        latitude=43.4933,
        longitude=-1.4753,
        order_delay_min_days=2,
        order_delay_max_days=5,
    )
    bookseller = staff_member(shop, perms=ORDER_PERMS)
    bookseller.set_password("libraire-secret-42")
    bookseller.save()

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + book.get_absolute_url() + "?near=64100")
    page.get_by_role("link", name="Commander via une librairie").click()
    assert "en général 2 à 5 jours" in page.content()
    page.get_by_label("Votre nom").fill("Paul Darrigrand")
    page.get_by_label("Votre e-mail").fill("paul@example.org")
    check(page, "order-form")
    page.get_by_role("button", name="Commander").click()
    assert "E-mail à confirmer" in page.locator(".status").inner_text()
    reader_link = page.url

    confirm = next(m for m in mail.outbox if "Confirmez votre commande" in m.subject)
    page.goto(live_server.url + _path(re.search(r"https?://\S+/orders/confirm/\S+/", confirm.body).group(0)))
    page.get_by_role("button", name="Je confirme").click()
    assert "Demandée" in page.locator(".status").inner_text()
    order = Order.objects.get()

    # The bookseller works it from the counter of the day, where a shop's staff land.
    admin = page.context.browser.new_context(**browser_context_args).new_page()
    admin.set_viewport_size({"width": 1280, "height": 900})
    admin.goto(live_server.url + reverse("admin:login"))
    admin.fill("#id_username", bookseller.username)
    admin.fill("#id_password", "libraire-secret-42")
    admin.locator("input[type=submit]").click()
    admin.goto(live_server.url + reverse("admin:index"))
    row = admin.locator(f"#o-{order.pk}")
    assert "Traité des couleurs" in row.inner_text() and "Paul Darrigrand" in row.inner_text()
    check(admin, "counter-order-requested")
    row.get_by_label("Arrivée prévue le").fill((datetime.date.today() + datetime.timedelta(days=3)).isoformat())
    row.get_by_role("button", name="Commandée au distributeur").click()
    assert "commandé au distributeur pour Paul Darrigrand" in admin.locator(".messagelist").inner_text()
    admin.set_viewport_size({"width": 375, "height": 812})
    check(admin, "counter-order-accepted")
    admin.locator(f"#o-{order.pk}").get_by_role("button", name="Arrivée : mise de côté").click()
    assert "arrivé et mis de côté" in admin.locator(".messagelist").inner_text()
    assert "Traité des couleurs" in admin.locator("#orders_arrived").inner_text()

    page.goto(reader_link)
    steps = page.locator("ol.history li").all_inner_texts()
    assert len(steps) == 4 and all(re.search(r"\d{4}, \d\d:\d\d", step) for step in steps)
    assert "Arrivée, à retirer" in page.locator(".status").inner_text()
    check(page, "order-detail")
    kinds = [m.subject for m in mail.outbox if m.to == ["paul@example.org"]]
    assert len(kinds) == 4  # confirm, received, ordered, arrived


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [375, 1280])
def test_a_reader_orders_an_isbn_the_catalogue_does_not_know_from_the_search(page, live_server, width):
    cache.clear()
    ShopFactory(name="Librairie Elkar", town="Bayonne", postcode="64100", latitude=43.4933, longitude=-1.4753)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + reverse("catalogue:search") + "?q=978-2-07-036002-5&near=64100")
    assert "ressemble à un ISBN mais n'en est pas un" in page.content()
    check(page, "search-wrong-isbn")
    page.get_by_role("searchbox").fill("2-07-036002-4")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    assert "Aucun livre du réseau n'a l'ISBN 978-2-07-036002-4" in page.content()
    check(page, "search-unknown-isbn")
    assert not Book.objects.exists()
    page.get_by_role("link", name="Commander via une librairie").click()
    assert "pas encore dans notre catalogue" in page.content()
    page.get_by_label("Titre du livre (facultatif)").fill("L'Étranger, Albert Camus")
    page.get_by_label("Votre nom").fill("Paul Darrigrand")
    page.get_by_label("Votre e-mail").fill("paul@example.org")
    check(page, "order-form-unknown-isbn")
    box = page.get_by_role("button", name="Commander").bounding_box()
    assert box["x"] + box["width"] <= width
    page.get_by_role("button", name="Commander").click()
    assert "E-mail à confirmer" in page.locator(".status").inner_text()
    assert "L'Étranger, Albert Camus" in page.content()
    check(page, "order-detail-unknown-isbn")
    book = Book.objects.get()
    assert book.isbn == "9782070360024" and book.provenance_of("title")["source"] == Book.Source.READER
    page.goto(live_server.url + reverse("orders:alert_new", args=["9782070360025"]))
    assert "n'est pas un ISBN valable" in page.content()
    check(page, "isbn-refused")
