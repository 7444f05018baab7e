"""The bookseller's day in Chromium, at a desk (1280 px) and on the tablet at the till (800 px), axe-core on each page."""

import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalogue.models import StockImport, StockLine
from catalogue.search import update_index
from reservations.models import Reservation
from tests.axe import axe_inject
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory, reserve, staff_member

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
#: Where the screenshots go (looked at by hand, never committed).
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/counter-shots"))
PASSWORD = "libraire-secret-42"


def axe_serious(page) -> list[str]:
    axe_inject(page)
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']}})"
    )
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check(page, name, width):
    """Screenshot, axe-core serious/critical = 0, nothing wider than the screen, targets of 24 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{width}-{name}.png"), full_page=True)
    assert axe_serious(page) == [], name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{name}: scrolls sideways"
    small = page.evaluate("""() => [...document.querySelectorAll(
        '#content button, #content a.button-primary, #content a.button-secondary, #content summary, .counter-filter a, '
        + '#content input[type=submit], #changelist-filter a, .paginator a')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
        .filter(([t, r]) => r.width < 24 || r.height < 24).map(([t]) => t)""")
    assert small == [], f"{name}: targets under 24 px: {small}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 800])
def test_the_booksellers_day(page, live_server, width):
    cache.clear()
    page.set_viewport_size({"width": width, "height": 900})
    shop = ShopFactory(name="Librairie Mollat", slug="mollat", phone="05 56 56 40 40")
    colleague = ShopFactory(
        name="Librairie La Machine à lire", slug="machine", address="8 place du Parlement", phone="05 56 48 03 87"
    )
    book = BookFactory(title="Le Lièvre de Vatanen", isbn="9782070360246", publisher="Folio")
    ContributorFactory(book=book, name="Arto Paasilinna")
    line = StockLineFactory(shop=shop, book=book, quantity=3)
    shelf = [StockLineFactory(shop=shop, quantity=2, book__title=f"Titre du rayon {i}") for i in range(6)]
    wanted = BookFactory(title="L'Usage du monde", isbn="9782228887328", publisher="Payot")
    ContributorFactory(book=wanted, name="Nicolas Bouvier")
    far = StockLineFactory(shop=colleague, book=wanted, quantity=2)
    update_index([wanted.pk, book.pk])
    bookseller = staff_member(
        shop,
        perms=(
            "reservations.view_reservation",
            "reservations.change_reservation",
            "catalogue.view_stockimport",
            "catalogue.add_stockimport",
            "catalogue.view_stockline",
        ),
    )
    bookseller.first_name = "Camille"
    bookseller.set_password(PASSWORD)
    bookseller.save()
    reservation = reserve(line, reader_name="Jeanne Lecture", reader_phone="06 11 22 33 44")
    url = live_server.url

    # 1. She logs in and lands on the counter: the new reservation is at the top, to set aside.
    page.goto(url + reverse("admin:index"))
    page.get_by_label("Nom d’utilisateur").fill(bookseller.username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    assert page.url.endswith(reverse("admin:reservations_counter"))
    row = page.locator(f'#to_set_aside [data-reference="{reservation.reference}"]')
    for text in (
        "Le Lièvre de Vatanen",
        "Arto Paasilinna",
        "978-2-07-036024-6",
        "1 exemplaire",
        "Jeanne Lecture",
        "0611223344",
        "À mettre de côté avant",
    ):
        assert text in row.inner_text(), text
    check(page, "1-counter", width)
    # Its page: what to do next on top, in words.
    row.get_by_role("link", name=f"Réservation {reservation.reference}").click()
    page.wait_for_url(re.compile(r"/change/"))
    page.get_by_role("button", name="Mettre de côté").wait_for()
    assert "Demandée par le lecteur" in page.locator(".inline-group").inner_text()
    check(page, "1b-reservation-requested", width)
    page.go_back()

    # 2. By keyboard only: Tab to « Mettre de côté », Enter. The filter she chose stays.
    page.get_by_role("link", name=re.compile("^À mettre de côté")).click()
    assert "section=to_set_aside" in page.url
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Mettre de côté":
            break
    else:
        pytest.fail("« Mettre de côté » cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "section=to_set_aside" in page.url
    assert "mis de côté pour Jeanne Lecture" in page.locator(".messagelist").inner_text()
    assert "Aucune demande en attente" in page.locator("#to_set_aside").inner_text()
    check(page, "2-set-aside", width)

    # 3. The reader comes: « Remis au lecteur » from the waiting list.
    page.get_by_role("link", name=re.compile("^Prêtes, en attente")).click()
    waiting = page.locator(f'#waiting [data-reference="{reservation.reference}"]')
    assert "encore" in waiting.inner_text()
    waiting.get_by_role("button", name="Remis au lecteur").click()
    assert "remis à Jeanne Lecture" in page.locator(".messagelist").inner_text()
    page.get_by_role("link", name="Tout", exact=True).click()
    assert "Jeanne Lecture" in page.locator("#collected_today").inner_text()
    check(page, "3-collected", width)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.COLLECTED
    # The full list keeps the same columns, its filters big enough to tap.
    page.goto(url + reverse("admin:reservations_reservation_changelist") + "?status__exact=collected")
    row = page.get_by_role("row", name=re.compile(reservation.reference)).inner_text()
    assert "Le Lièvre de Vatanen" in row and "Jeanne Lecture" in row and "0611223344" in row
    check(page, "3b-changelist", width)
    # Its page: the history in words, no save button.
    page.goto(url + reverse("admin:reservations_reservation_change", args=[reservation.pk]))
    history = page.locator(".inline-group").inner_text()
    assert "Mise de côté par Camille (librairie)" in history and "Remise au lecteur par Camille" in history
    assert page.locator("input[name=_save]").count() == 0
    check(page, "4-reservation", width)

    # 4. The stock file: two titles sold out are zeroed, the report lists them.
    csv = "EAN;Qté\r\n" + "".join(f"{l.book.isbn};2\r\n" for l in [line, *shelf[:4]])
    page.goto(url + reverse("admin:catalogue_stockimport_upload"))
    assert (
        page.locator("select[name=shop]").count() == 0 and "Librairie Mollat" in page.locator("#content").inner_text()
    )
    check(page, "5-upload", width)
    page.get_by_label("Fichier de stock").set_input_files(
        files=[{"name": "stock.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Importer").click()
    zeroed = page.locator("#zeroed-title + *, .zeroed-list").last.inner_text()
    assert "Titre du rayon 4" in zeroed and "Titre du rayon 5" in zeroed
    check(page, "6-zeroed", width)

    # 5. A file that zeroes a reserved title waits for her; « Appliquer quand même » uses the kept file.
    reserve(StockLine.objects.get(pk=shelf[0].pk), reader_name="Paul Attente", reader_email="paul@example.org")
    csv = "EAN;Qté\r\n" + "".join(f"{l.book.isbn};2\r\n" for l in [line, *shelf[1:4]])
    page.goto(url + reverse("admin:catalogue_stockimport_upload"))
    page.get_by_label("Fichier de stock").set_input_files(
        files=[{"name": "stock.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Importer").click()
    assert "À confirmer" in page.locator(".messagelist").inner_text()
    assert "à vous de décider" in page.locator(".reservation-next").inner_text()
    assert "Titre du rayon 0" in page.locator(".zeroed-list").inner_text()
    assert "1 exemplaire réservé" in page.locator(".zeroed-list").inner_text()
    check(page, "7-refused", width)
    page.get_by_role("button", name="Appliquer quand même").click()
    assert "Import appliqué" in page.locator(".messagelist").inner_text()
    assert StockLine.objects.get(pk=shelf[0].pk).quantity == 0
    assert StockImport.objects.filter(status="applied").count() == 2

    # 6. Today's arrivals: two lines by hand.
    page.goto(url + reverse("admin:catalogue_stockimport_arrivals"))
    page.get_by_label("ISBN, ligne 1").fill("978-2-07-036822-8")
    page.get_by_label("Quantité, ligne 1").fill("4")
    page.get_by_label("Prix, ligne 1").fill("8,30")
    page.get_by_label("ISBN, ligne 2").fill(shelf[5].book.isbn)
    page.get_by_label("Quantité, ligne 2").fill("3")
    check(page, "8-arrivals", width)
    page.get_by_role("button", name="Enregistrer ces lignes").click()
    assert "Import appliqué" in page.locator(".messagelist").inner_text()
    assert StockLine.objects.get(shop=shop, book__isbn="9782070368228").quantity == 4
    assert StockLine.objects.get(pk=shelf[5].pk).quantity == 3

    # 7. A customer wants a book she does not have: a colleague has it; she prints the slip.
    page.goto(url + reverse("admin:reservations_counter"))
    page.get_by_role("link", name="Trouver chez un confrère").first.click()
    page.get_by_label("ISBN ou titre").fill("Usage du monde")
    page.get_by_role("button", name="Chercher").click()
    assert "Nicolas Bouvier · Payot" in page.locator("#content").inner_text()
    check(page, "9-colleague", width)
    page.get_by_role("link", name=re.compile("Fiche à imprimer")).click()
    slip = page.locator(".slip").inner_text()
    for text in (
        "L'Usage du monde",
        "Nicolas Bouvier",
        "Librairie La Machine à lire",
        "8 place du Parlement",
        "05 56 48 03 87",
        "Lundi",
    ):
        assert text in slip, text
    check(page, "10-slip", width)
    page.emulate_media(media="print")
    page.screenshot(path=str(SHOTS / f"{width}-11-slip-print.png"), full_page=True)
    assert page.locator("#header").is_hidden() and page.locator(".slip-screen-only").is_hidden()
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the slip prints on one page"
    page.emulate_media(media="screen")
    assert far.shop == colleague
