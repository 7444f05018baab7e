import datetime
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from catalogue.stock.snapshots import stock_import
from orders.models import Alert, Order
from tests.factories import BookFactory, ShopFactory, StockLineFactory, staff_member

SCREENSHOTS = "test-results"


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
    page.screenshot(path=f"{SCREENSHOTS}/alert-form-375.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
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
    bookseller = staff_member(shop, perms=("orders.view_order", "orders.change_order"))
    bookseller.set_password("libraire-secret-42")
    bookseller.save()

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + book.get_absolute_url() + "?near=64100")
    page.get_by_role("link", name="Commander via une librairie").click()
    assert "en général 2 à 5 jours" in page.content()
    page.get_by_label("Votre nom").fill("Paul Darrigrand")
    page.get_by_label("Votre e-mail").fill("paul@example.org")
    page.screenshot(path=f"{SCREENSHOTS}/order-form-375.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Commander").click()
    assert "E-mail à confirmer" in page.locator(".status").inner_text()
    reader_link = page.url

    confirm = next(m for m in mail.outbox if "Confirmez votre commande" in m.subject)
    page.goto(live_server.url + _path(re.search(r"https?://\S+/orders/confirm/\S+/", confirm.body).group(0)))
    page.get_by_role("button", name="Je confirme").click()
    assert "Demandée" in page.locator(".status").inner_text()
    order = Order.objects.get()

    admin = page.context.browser.new_context(**browser_context_args).new_page()
    admin.goto(live_server.url + reverse("admin:login"))
    admin.fill("#id_username", bookseller.username)
    admin.fill("#id_password", "libraire-secret-42")
    admin.locator("input[type=submit]").click()
    admin.goto(live_server.url + reverse("admin:orders_order_changelist"))
    admin.get_by_role("row", name=re.compile(order.reference)).locator("input[type=checkbox]").check()
    admin.select_option("select[name=action]", "accept")
    admin.locator("button[name=index]").click()
    admin.get_by_label("Arrivée prévue le").fill((datetime.date.today() + datetime.timedelta(days=3)).isoformat())
    admin.get_by_role("button", name="Valider").click()
    assert "passée au distributeur" in admin.locator(".messagelist").inner_text()
    admin.get_by_role("row", name=re.compile(order.reference)).locator("input[type=checkbox]").check()
    admin.select_option("select[name=action]", "arrive")
    admin.locator("button[name=index]").click()
    assert "arrivée" in admin.locator(".messagelist").inner_text()

    page.goto(reader_link)
    steps = page.locator("ol.history li").all_inner_texts()
    assert len(steps) == 4 and all(re.search(r"\d{4}, \d\d:\d\d", step) for step in steps)
    assert "Arrivée, à retirer" in page.locator(".status").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/order-detail-375.png", full_page=True)
    kinds = [m.subject for m in mail.outbox if m.to == ["paul@example.org"]]
    assert len(kinds) == 4  # confirm, received, ordered, arrived
