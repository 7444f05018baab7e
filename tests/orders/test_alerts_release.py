"""Alerts on a book announced at the publisher (« à paraître »): they fire when a feed makes it available."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Book
from catalogue.onix.imports import books_import_onix
from catalogue.signals import books_released
from catalogue.stock.snapshots import stock_import
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory

from .test_alerts import BAYONNE, PERIGUEUX, available_mails, confirmed_alert
from .test_unknown_isbn import onix

pytestmark = pytest.mark.django_db
A = Book.Availability
ISBN = "9782352881018"


@pytest.fixture
def announced():
    """A book the publisher announced for next month."""
    return BookFactory(
        isbn=ISBN,
        title="Le Livre à paraître",
        availability=A.FORTHCOMING,
        published_on=timezone.localdate() + datetime.timedelta(days=30),
    )


def port_shop():
    return ShopFactory(name="Librairie du Port", latitude=43.4933, longitude=-1.4753, town="Bayonne")


def test_a_copy_of_an_announced_book_fires_nothing_until_the_feed_makes_it_available(mailbox, announced):
    shop = port_shop()
    alert = confirmed_alert(mailbox, announced)
    with mailbox():
        stock_import(shop=shop, data=f"EAN;Qté\r\n{ISBN};2\r\n".encode(), partial=True)
    assert available_mails() == []  # in the shop before its release: the reader waits for the release
    with mailbox():
        report = books_import_onix(source=onix(ISBN, "Le Livre à paraître", status="02"))
    assert report.released == 0 and available_mails() == []  # still announced
    with mailbox():
        report = books_import_onix(source=onix(ISBN, "Le Livre paru", status="04"))
    assert report.released == 1
    [sent] = available_mails()
    assert sent.to == ["lea@example.org"] and "Librairie du Port" in sent.body and "/reservations/new/" in sent.body
    alert.refresh_from_db()
    assert alert.fulfilled_at is not None
    # One e-mail only: the same feed again, or a new stock file, sends nothing more.
    with mailbox():
        books_import_onix(source=onix(ISBN, "Le Livre paru", status="04"))
        stock_import(shop=shop, data=f"EAN;Qté\r\n{ISBN};3\r\n".encode(), partial=True)
    assert len(available_mails()) == 1


def test_the_release_fires_only_the_alerts_a_shop_near_the_reader_answers(mailbox, announced):
    StockLineFactory(book=announced, shop=ShopFactory(**PERIGUEUX), quantity=4)  # 250 km from Bayonne
    near = confirmed_alert(mailbox, announced, location=BAYONNE)
    with mailbox():
        books_import_onix(source=onix(ISBN, "Le Livre paru", status="04"))
    assert available_mails() == []
    near.refresh_from_db()
    assert near.fulfilled_at is None  # still watching: the next copy near Bayonne will fire it
    with mailbox():
        stock_import(shop=port_shop(), data=f"EAN;Qté\r\n{ISBN};1\r\n".encode(), partial=True)
    assert len(available_mails()) == 1


def test_a_past_publication_date_does_not_hold_an_alert_back(mailbox, announced):
    """A feed that never updated the status: once the publication date has passed, a copy fires the alert."""
    announced.published_on = timezone.localdate() - datetime.timedelta(days=2)
    announced.save()
    confirmed_alert(mailbox, announced)
    with mailbox():
        stock_import(shop=port_shop(), data=f"EAN;Qté\r\n{ISBN};1\r\n".encode(), partial=True)
    assert len(available_mails()) == 1


def test_the_signal_is_sent_only_for_announced_books_made_available(announced):
    sent = []

    def listen(sender, *, book_ids, **kwargs):
        sent.append(book_ids)

    books_released.connect(listen)
    try:
        other = BookFactory(isbn="9791032580042", availability=A.TEMPORARILY_UNAVAILABLE)
        books_import_onix(source=onix(other.isbn, "Réimprimé", status="04"))
        books_import_onix(source=onix("9791090648524", "Tout nouveau", status="04"))  # created available
        books_import_onix(source=onix(ISBN, "Paru", status="04"))
    finally:
        books_released.disconnect(listen)
    assert sent == [[announced.pk]]


def test_a_staff_edit_releasing_the_book_fires_the_alerts(client, mailbox, announced):
    port_shop_with_copy = port_shop()
    StockLineFactory(book=announced, shop=port_shop_with_copy, quantity=1)
    confirmed_alert(mailbox, announced)
    assert available_mails() == []
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:catalogue_book_change", args=[announced.pk])
    data = {
        "isbn": announced.isbn,
        "title": announced.title,
        "published_on": announced.published_on.isoformat(),
        "availability": A.AVAILABLE,
        "product_form": "print",
        "contributors-TOTAL_FORMS": "0",
        "contributors-INITIAL_FORMS": "0",
    }
    with mailbox():
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    announced.refresh_from_db()
    assert announced.availability == A.AVAILABLE
    assert [m.to for m in mail.outbox if "disponible près de chez vous" in m.subject] == [["lea@example.org"]]
