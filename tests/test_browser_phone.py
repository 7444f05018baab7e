"""Every reader page on a phone and on a wide screen: axe-core, no sideways scroll, « Réserver » in reach;
keyboard-only and JavaScript-off walks from the search to a cancelled reservation.

The demo network (real ONIX titles, 40 shops) is the data: long shop names, many holders per book.
Set SCREENSHOTS_DIR to keep a full-page screenshot of every page checked.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db.models import Count, Q
from django.urls import reverse

from bookshops.models import Shop
from catalogue.models import Book, StockLine
from demo.services import demo_load
from reservations.models import Reservation
from tests.axe import axe_inject
from tests.factories import reserve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: axe-core 4.14.1, vendored with its licences (tests/vendor/axe/), shared with the counter's browser walk.
AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONES = [320, 375, 414]
WIDE = 1280
#: The demo's real book with the most holders, and a place among the demo shops.
NEAR = "?near=33000&radius=30"


@pytest.fixture
def network():
    demo_load(books=40)
    # The demo's real (ONIX) book that the most shops hold and a reader can reserve (not an e-book).
    held = Book.objects.filter(stock_lines__quantity__gt=0).annotate(n=Count("stock_lines")).order_by("-n", "isbn")
    book = next(b for b in held if b.is_collectable and b.provenance_of("title").get("source") == "onix")
    # A book only one shop holds, far from Bordeaux: the book page then says none is near.
    far = (
        Book.objects.annotate(n=Count("stock_lines", filter=Q(stock_lines__quantity__gt=0)))
        .filter(n=1, stock_lines__quantity__gt=0, stock_lines__shop__department="64")
        .first()
    )
    line = StockLine.objects.filter(book=book, quantity__gt=0, shop__offers_click_and_collect=True).first()
    reservation = reserve(line, reader_name="Jeanne Lecture", reader_email="jeanne@example.org")
    return {"book": book, "far": far, "line": line, "reservation": reservation}


def reader_pages(network) -> list[tuple[str, str]]:
    shop = Shop.objects.order_by("-name").first()  # a long name
    reservation = network["reservation"]
    return [
        ("home", "/"),
        ("search", "/search/?q=mer"),
        ("search-sorted", "/search/?q=mer&sort=titre&in_stock=on"),
        ("search-empty", "/search/?q=zzzqqq"),
        ("book-near", network["book"].get_absolute_url() + NEAR),
        ("book-none-near", network["far"].get_absolute_url() + "?near=33000&radius=10"),
        ("shops", "/shops/" + NEAR),
        ("shop", shop.get_absolute_url()),
        ("reserve", reverse("reservations:new", args=[network["line"].pk])),
        ("reader", reservation.get_reader_url()),
        ("cancel-confirm", reverse("reservations:cancel", args=[reservation.reader_token()])),
        ("town-typo", "/shops/?near=Bordeau"),
        ("accessibility", "/accessibilite/"),
    ]


def offline(context, live_server) -> None:
    """Only the test server answers: map tiles and anything else outside are refused."""
    host = urlsplit(live_server.url).netloc
    context.route(
        re.compile(r"^https?://"),
        lambda route: route.continue_() if urlsplit(route.request.url).netloc == host else route.abort(),
    )


def axe_serious(page) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing")
    axe_inject(page)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    assert result["passes"], "axe ran its rules"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page, name: str, width: int) -> list[str]:
    problems = [f"{name}@{width}: {p}" for p in axe_serious(page)]
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{name}@{width}: scrolls sideways ({scroll} > {inner} px)")
    if os.environ.get("SCREENSHOTS_DIR"):
        lang = page.evaluate("document.documentElement.lang")
        page.screenshot(path=f"{os.environ['SCREENSHOTS_DIR']}/{name}-{lang}-{width}.png", full_page=True)
    return problems


def new_page(browser, live_server, width: int, *, locale="fr-FR", javascript=True):
    phone = width < 600
    context = browser.new_context(
        viewport={"width": width, "height": 812 if phone else 900},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale=locale,
        java_script_enabled=javascript,
    )
    offline(context, live_server)
    return context.new_page()


def test_reader_pages_in_french_at_every_width(browser, live_server, network):
    problems = []
    for width in [*PHONES, WIDE]:
        problems += french_pages(browser, live_server, network, width)
    assert not problems, "\n".join(problems)


def french_pages(browser, live_server, network, width) -> list[str]:
    page = new_page(browser, live_server, width)
    problems = []
    for name, path in reader_pages(network):
        response = page.goto(live_server.url + path)
        assert response.status < 400, (name, response.status)
        problems += check_page(page, name, width)
        if name == "book-near" and width in PHONES:
            button = page.get_by_role("link", name=re.compile("^Réserver")).first
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
        if name == "book-none-near":
            assert "Voici les plus proches" in page.locator(".notice").inner_text()
        if name == "town-typo":
            assert page.get_by_role("link", name=re.compile(r"^Bordeaux \(33000")).count() == 1

    # The form's error state: an empty submission is announced, listed, and every field points at its error.
    page.goto(live_server.url + reverse("reservations:new", args=[network["line"].pk]))
    page.get_by_label("Votre e-mail").fill("pas-une-adresse")
    page.get_by_role("button", name="Réserver").click()
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    # autofocus: focus moves to the summary without JavaScript (checked once the page has settled)
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')", timeout=5000)
    assert page.title().startswith("Erreur")
    email = page.get_by_label("Votre e-mail")
    assert email.get_attribute("aria-invalid") == "true"
    described = email.get_attribute("aria-describedby").split()
    assert "id_reader_email_error" in described and "id_reader_email_helptext" in described
    assert page.locator("#id_reader_email_error").inner_text()
    problems += check_page(page, "reserve-error", width)
    page.context.close()
    return problems


def test_reader_pages_in_english_after_the_language_switch(browser, live_server, network):
    problems = []
    for width in [375, WIDE]:
        problems += english_pages(browser, live_server, network, width)
    assert not problems, "\n".join(problems)


def english_pages(browser, live_server, network, width) -> list[str]:
    page = new_page(browser, live_server, width)
    page.goto(live_server.url + "/")
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == "en"
    problems = check_page(page, "language-switch", width)
    for name, path in reader_pages(network):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.lang") == "en", name
        problems += check_page(page, name, width)
    page.goto(live_server.url + network["book"].get_absolute_url())
    # French texts on the English page say so.
    picks = page.locator("blockquote.pick-text")
    for i in range(picks.count()):
        assert picks.nth(i).get_attribute("lang") == "fr"
    page.context.close()
    return problems


def test_text_at_200_percent_does_not_scroll_sideways(browser, live_server, network):
    page = new_page(browser, live_server, WIDE)
    for path in ["/", network["book"].get_absolute_url() + NEAR, "/search/?q=mer", "/shops/"]:
        page.goto(live_server.url + path)
        # Through the CSS object model: an added <style> would break the page's own CSP.
        page.evaluate("() => document.documentElement.style.setProperty('font-size', '200%', 'important')")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path


def test_the_hidden_map_never_takes_keyboard_focus(browser, live_server, network):
    for path in ["/shops/", Shop.objects.first().get_absolute_url()]:
        map_walk(browser, live_server, path)


def map_walk(browser, live_server, path) -> None:
    page = new_page(browser, live_server, WIDE)
    page.goto(live_server.url + path)
    page.wait_for_selector("[data-shop-map] .leaflet-marker-icon", state="attached")
    stops = []
    for _ in range(120):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            "() => { const e = document.activeElement; return [e.tagName, !!e.closest('[aria-hidden=true]'), "
            "e.textContent.trim().slice(0, 40)]; }"
        )
        stops.append(stop)
        if stop[0] == "BODY":
            break
    inside_map = [s for s in stops if s[1]]
    assert not inside_map, inside_map
    assert any("Accessibilité" in s[2] for s in stops), "the walk reaches the footer"
    page.context.close()


def tab_to(page, pattern: str, limit: int = 150) -> None:
    """Press Tab until the focused element's accessible text matches ``pattern``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "() => { const e = document.activeElement; return (e.innerText || e.value || e.getAttribute('aria-label') || '')"
            " + ' ' + (e.labels && e.labels[0] ? e.labels[0].innerText : ''); }"
        )
        if re.search(pattern, text):
            return
    raise AssertionError(f"no focusable element matches {pattern!r}")


def test_keyboard_walk_from_search_to_a_cancelled_reservation_with_and_without_javascript(
    browser, live_server, network
):
    keyboard_walk(browser, live_server, network, javascript=True, email="camille@example.org")
    keyboard_walk(browser, live_server, network, javascript=False, email="sans-js@example.org")


def keyboard_walk(browser, live_server, network, *, javascript: bool, email: str) -> None:
    page = new_page(browser, live_server, 375, javascript=javascript)
    page.goto(live_server.url + "/")
    tab_to(page, r"Titre, auteur")
    book = network["book"]
    page.keyboard.type(book.title)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=**")
    tab_to(page, "^" + re.escape(book.title) + r"\s*$")  # the result link, not the search box holding the title
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/books/{network['book'].isbn}/")
    if not javascript:  # the location button needs JavaScript: without it, it is not shown at all
        assert not page.get_by_role("button", name="Me localiser").is_visible()
    tab_to(page, r"^Réserver")
    page.keyboard.press("Enter")
    page.wait_for_url("**/reservations/new/**")
    tab_to(page, r"Votre nom")
    page.keyboard.type("Camille Clavier")
    tab_to(page, r"Votre e-mail")
    page.keyboard.type(email)
    page.keyboard.press("Enter")
    page.wait_for_url("**/reservations/r/**")
    reservation = Reservation.objects.get(reader_email=email)
    assert reservation.reference in page.locator("h1").inner_text()
    # the confirmation message takes the focus (autofocus): it is read first
    page.wait_for_function("() => document.activeElement.classList.contains('messages')", timeout=5000)
    tab_to(page, r"Annuler ma réservation")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cancel/")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.REQUESTED, "opening the cancel link changes nothing"
    tab_to(page, r"Oui, annuler")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/reservations/r/[^/]+/$"))
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert "Annulée" in page.locator(".status").inner_text()
    page.context.close()


def test_booksellers_admin_pages_pass_axe(browser, live_server, network):
    problems = []
    for width in [375, WIDE]:
        problems += admin_pages(browser, live_server, network, width)
    assert not problems, "\n".join(problems)


def admin_pages(browser, live_server, network, width) -> list[str]:
    from demo.services import STAFF_PASSWORD

    shop = network["line"].shop
    page = new_page(browser, live_server, width)
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", shop.slug)
    page.fill("#id_password", STAFF_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # a bookseller lands on the counter of the day
    problems = [p for p in check_page(page, "admin-home", width) if "scrolls sideways" not in p]
    page.goto(live_server.url + reverse("admin:index") + "?apps=1")
    problems += [p for p in check_page(page, "admin-index", width) if "scrolls sideways" not in p]
    for name in [
        "admin:reservations_reservation_changelist",
        "admin:reservations_colleague",
        "admin:catalogue_stockimport_add",
        "admin:bookshops_shop_changelist",
        "admin:bookshops_staffpick_changelist",
    ]:
        response = page.goto(live_server.url + reverse(name))
        assert response.status == 200, name
        problems += [p for p in check_page(page, name, width) if "scrolls sideways" not in p]
    page.goto(live_server.url + reverse("admin:reservations_reservation_change", args=[network["reservation"].pk]))
    problems += [p for p in check_page(page, "admin-reservation", width) if "scrolls sideways" not in p]
    page.context.close()
    return problems
