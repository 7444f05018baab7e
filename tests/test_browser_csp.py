"""The Content-Security-Policy in a real browser: every reader and bookseller page, the map included, with no violation."""

import re
import struct
import zlib

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalogue.models import StockImport
from catalogue.search import update_index
from catalogue.stock.snapshots import stock_import
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, reserve, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  [e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber].join(" ")));
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png() -> bytes:
    """A one-pixel PNG: the map tile server's answer, served locally."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\x00\xcc\xdd\xee"))
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def watched(context, live_server, settings):
    """A browser context that records CSP violations (events and console) and never leaves this machine."""
    tile_host = re.escape(settings.MAP_TILE_URL.split("/")[2])
    tiles = []

    def route(route):
        url = route.request.url
        if re.match(rf"^https?://{tile_host}/", url):
            tiles.append(url)
            return route.fulfill(status=200, content_type="image/png", body=_png())
        if url.startswith(live_server.url):
            return route.continue_()
        return route.abort()

    context.add_init_script(COLLECT)
    context.route("**/*", route)
    console = []
    context.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None
        ),
    )
    return {"context": context, "console": console, "tiles": tiles, "url": live_server.url}


def _visit(page, url, seen):
    response = page.goto(url)
    assert response.status in (200, 429), (url, response.status)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    seen[url] = page.evaluate("window.__violations")


def test_no_csp_violation_on_reader_and_bookseller_pages(watched):
    context, base = watched["context"], watched["url"]
    shop = ShopFactory(name="Le Passeur", latitude=44.84, longitude=-0.57)
    colleague = ShopFactory(name="La Mouette", latitude=43.71, longitude=-1.05)
    book = BookFactory(title="Les Aventures de Télémaque")
    line = StockLineFactory(book=book, shop=shop, quantity=3)
    colleague_line = StockLineFactory(book=book, shop=colleague, quantity=3)
    update_index([book.pk])
    reservation = reserve(line, reader_email="lecteur@example.org")
    bookseller = staff_member(shop)
    bookseller.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_stockimport", "view_stockimport", "view_stockline"])
    )
    bookseller.set_password("libraire-secret-42")
    bookseller.save()
    record = stock_import(
        shop=shop,
        data=f"EAN;Qté\r\n{book.isbn};3\r\n".encode(),
        filename="stock.csv",
        channel=StockImport.Channel.ADMIN,
    )
    seen = {}

    reader = context.new_page()
    for path in [
        "/",
        "/?near=33000&radius=any",
        "/search/?q=T%C3%A9l%C3%A9maque",
        "/search/?q=introuvablexyz",
        book.get_absolute_url(),
        "/shops/",
        shop.get_absolute_url(),
        reverse("reservations:new", args=[line.pk]),
        reservation.get_reader_url(),
    ]:
        _visit(reader, base + path, seen)
    # The maps drew their tiles (Leaflet sets positions through the CSSOM, which the policy allows).
    reader.goto(base + "/shops/")
    reader.wait_for_selector(".leaflet-tile-loaded")
    assert watched["tiles"]
    seen["/shops/ (map)"] = reader.evaluate("window.__violations")
    # A reader reserves (form POST, redirect) and switches to English.
    reader.goto(base + reverse("reservations:new", args=[line.pk]))
    reader.get_by_label("Votre nom").fill("Jeanne")
    reader.get_by_label("Votre e-mail").fill("jeanne@example.org")
    reader.get_by_role("button", name="Réserver").click()
    reader.wait_for_load_state("networkidle")
    seen["reservation POST"] = reader.evaluate("window.__violations")
    reader.locator("#lang-select").select_option("en")
    reader.get_by_role("button", name="Changer").click()
    reader.wait_for_load_state("networkidle")
    seen["language switch"] = reader.evaluate("window.__violations")

    admin = context.browser.new_context(locale="fr-FR")
    admin.add_init_script(COLLECT)
    admin.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    bookseller_page = admin.new_page()
    _visit(bookseller_page, base + reverse("admin:login"), seen)
    bookseller_page.fill("#id_username", bookseller.username)
    bookseller_page.fill("#id_password", "libraire-secret-42")
    bookseller_page.locator("input[type=submit]").click()
    bookseller_page.wait_for_load_state("networkidle")
    for path in [
        reverse("admin:index"),
        reverse("admin:reservations_counter"),
        reverse("admin:reservations_reservation_changelist"),
        reverse("admin:reservations_reservation_change", args=[reservation.pk]),
        reverse("admin:reservations_colleague") + f"?q={book.isbn}",
        reverse("admin:reservations_colleague_reserve", args=[colleague_line.pk]),
        reverse("admin:reservations_reservation_move", args=[reservation.pk]),
        reverse("admin:catalogue_stockimport_upload"),
        reverse("admin:catalogue_stockimport_change", args=[record.pk]),
        reverse("admin:catalogue_stockline_changelist"),
        reverse("admin:password_change"),
    ]:
        _visit(bookseller_page, base + path, seen)
    # The association's pages, the password reset and the lockout page.
    superuser = UserFactory(is_staff=True, is_superuser=True)
    superuser.set_password("association-secret-42")
    superuser.save()
    association = context.browser.new_context(locale="fr-FR")
    association.add_init_script(COLLECT)
    page = association.new_page()
    _visit(page, base + reverse("admin_password_reset"), seen)
    page.goto(base + reverse("admin:login"))
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", "association-secret-42")
    page.locator("input[type=submit]").click()
    for path in [
        reverse("admin:index"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:catalogue_searchmiss_changelist"),
        reverse("admin:reservations_outgoingemail_changelist"),
        reverse("admin:bookshops_shop_change", args=[shop.pk]),
        reverse("admin:catalogue_book_change", args=[book.pk]),
    ]:
        _visit(page, base + path, seen)
    anonymous = context.browser.new_context(locale="fr-FR")
    anonymous.add_init_script(COLLECT)
    locked = anonymous.new_page()
    for _ in range(5):
        locked.goto(base + reverse("admin:login"))
        locked.fill("#id_username", "nobody")
        locked.fill("#id_password", "wrong")
        locked.locator("input[type=submit]").click()
    locked.wait_for_load_state("networkidle")
    assert "Connexion bloquée" in locked.content()
    seen["lockout page"] = locked.evaluate("window.__violations")

    violations = {url: found for url, found in seen.items() if found}
    assert not violations, violations
    assert not watched["console"], watched["console"]
    assert len(seen) >= 25
