import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from reservations.models import Reservation
from tests.factories import StockLineFactory, staff_member


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reserve_confirm_in_admin_and_see_it_ready(page, live_server, browser_context_args):
    cache.clear()
    line = StockLineFactory(quantity=2, book__title="Le Lièvre de Vatanen", shop__name="Librairie Mollat")
    bookseller = staff_member(line.shop)
    bookseller.set_password("libraire-secret-42")
    bookseller.save()

    # The reader finds the book and reserves one copy, without an account.
    page.goto(live_server.url + line.book.get_absolute_url())
    page.get_by_role("link", name=re.compile("Réserver")).click()
    page.get_by_label("Votre nom").fill("Jeanne Lecture")
    page.get_by_label("Votre e-mail").fill("jeanne@example.org")
    page.get_by_label("Exemplaires").select_option("1")
    page.get_by_role("button", name="Réserver").click()
    reservation = Reservation.objects.get()
    assert reservation.reference in page.content()
    assert "Demandée" in page.locator(".status").inner_text()

    # The link from the e-mail leads to the reader's page.
    received = next(m for m in mail.outbox if m.to == ["jeanne@example.org"])
    link = re.search(r"https?://\S+/reservations/r/\S+/", received.body).group(0)
    path = re.sub(r"^https?://[^/]+", "", link)
    reader_page = page.context.new_page()
    reader_page.goto(live_server.url + path)
    assert "Demandée" in reader_page.locator(".status").inner_text()

    # The bookseller logs into the admin and confirms: the copy is set aside.
    admin = page.context.browser.new_context(**browser_context_args).new_page()  # a French bookseller too
    admin.goto(live_server.url + reverse("admin:login"))
    admin.fill("#id_username", bookseller.username)
    admin.fill("#id_password", "libraire-secret-42")
    admin.locator("input[type=submit]").click()
    admin.goto(live_server.url + reverse("admin:reservations_reservation_changelist"))
    admin.get_by_role("row", name=re.compile(reservation.reference)).locator("input[type=checkbox]").check()
    admin.select_option("select[name=action]", "confirm")
    admin.locator("button[name=index]").click()
    assert "confirmée" in admin.locator(".messagelist").inner_text()

    reader_page.reload()
    status = reader_page.locator(".status").inner_text()
    assert "Prête à retirer" in status and "vous attend" in status
    ready = [m for m in mail.outbox if m.to == ["jeanne@example.org"] and "vous attend" in m.subject]
    assert len(ready) == 1 and "Librairie Mollat" in ready[0].body
