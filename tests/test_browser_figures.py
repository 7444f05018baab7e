"""The figures page in Chromium, as the association and as a shop: charts drawn, axe-core clean."""

from pathlib import Path

import pytest
from django.urls import reverse

from figures.services import figures_refresh
from tests.axe import axe_inject
from tests.factories import StockLineFactory, UserFactory, reserve, staff_member

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
AXE_RUN = (
    "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
    "['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}})"
)


def _history():
    import datetime

    from django.utils import timezone

    from reservations import services

    lines = [
        StockLineFactory(quantity=50, shop__name=name, shop__slug=slug)
        for name, slug in [("Librairie Mollat", "mollat"), ("Librairie Campus", "campus")]
    ]
    now = timezone.now()
    for day in range(1, 120, 3):
        for line in lines[: 1 + day % 2]:
            when = now - datetime.timedelta(days=day)
            r = reserve(line, reader_email=f"r{day}-{line.pk}@example.org", now=when)
            if day % 5:
                services.reservation_confirm(reservation=r, now=when + datetime.timedelta(hours=1 + day % 7))
                if day % 4:
                    services.reservation_collect(reservation=r, now=when + datetime.timedelta(days=2))
            elif day % 2:
                services.reservation_cancel(
                    reservation=r, reason="", by_reader=True, now=when + datetime.timedelta(hours=3)
                )
    _orders_and_alerts(lines, now)
    figures_refresh()
    return lines


def _orders_and_alerts(lines, now):
    """Orders (confirmed, some collected or declined) and alerts, through the orders' services."""
    import datetime
    import re

    from bookshops.location import ReaderLocation
    from orders import services
    from tests.factories import BookFactory

    for day in range(2, 100, 9):
        when = now - datetime.timedelta(days=day)
        line = lines[day % 2]
        order = services.order_request(
            book=BookFactory(),
            shop=line.shop,
            quantity=1,
            reader_name="Jeanne",
            reader_email=f"o{day}@example.org",
            now=when,
        )
        order = services.order_confirm_address(token=order.confirm_token(), now=when + datetime.timedelta(hours=1))
        if day % 3 == 0:
            services.order_decline(
                order=order, reason="épuisé chez le distributeur", now=when + datetime.timedelta(days=1)
            )
        else:
            services.order_arrive(order=order, now=when + datetime.timedelta(days=1))
            services.order_collect(order=order, now=when + datetime.timedelta(days=2))
        where = (
            {"shop": line.shop}
            if day % 2
            else {"location": ReaderLocation(lat=43.49, lon=-1.47, label="Bayonne", radius_km=30)}
        )
        alert = services.alert_request(book=line.book, reader_email=f"a{day}@example.org", now=when, **where)
        token = re.search(r"/alerts/confirm/([^/]+)/", alert.confirm_url()).group(1)
        services.alert_confirm(token=token, now=when + datetime.timedelta(hours=1))


def _login(page, live_server, username, password):
    page.goto(live_server.url + reverse("admin:login"))
    page.get_by_label("Nom d’utilisateur").or_(page.get_by_label("Nom d'utilisateur")).fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()


def _check(page, name, width):
    page.set_viewport_size({"width": width, "height": 900})
    assert page.locator("svg.chart").count() == 5
    assert page.locator("svg.chart rect").count() > 10
    axe_inject(page)
    result = page.evaluate(AXE_RUN)
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"figures-{name}-{width}.png"), full_page=True)
    for index in range(5):
        page.locator("svg.chart").nth(index).screenshot(path=str(SHOTS / f"figures-{name}-{width}-chart{index}.png"))
    if width == 375:  # the page does not scroll sideways; wide tables scroll inside their own box
        assert page.evaluate("document.querySelector('#figures').scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_figures_as_the_association_and_as_a_shop(page, live_server):
    lines = _history()
    UserFactory(username="asso", is_staff=True, is_superuser=True, password="asso-secret-42")
    bookseller = staff_member(lines[1].shop)
    bookseller.set_password("libraire-secret-42")
    bookseller.save()

    _login(page, live_server, "asso", "asso-secret-42")
    page.get_by_role("link", name="Chiffres").click()
    assert page.get_by_role("heading", name="Réservations et leur issue").is_visible()
    assert "Librairie Mollat" in page.content() and "Librairie Campus" in page.content()
    assert page.get_by_role("heading", name="Commandes et alertes « Prévenez-moi »").is_visible()
    assert "autour du lecteur" in page.locator("#table-alertes-par-librairie").inner_text()
    for width in (1280, 375):
        _check(page, "association", width)

    page.context.clear_cookies()
    _login(page, live_server, bookseller.username, "libraire-secret-42")
    page.goto(live_server.url + reverse("figures:index"))
    body = page.locator("#table-par-librairie").inner_text()
    assert "Librairie Campus" in body and "Librairie Mollat" not in body and "Moyenne du réseau" in body
    for table in ("#table-commandes-par-librairie", "#table-alertes-par-librairie"):
        body = page.locator(table).inner_text()
        assert "Librairie Campus" in body and "Librairie Mollat" not in body and "autour du lecteur" not in body
    for width in (1280, 375):
        _check(page, "shop", width)
