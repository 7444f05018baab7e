"""An ISBN the catalogue does not know: ordered or watched from the search, its book made only when the reader submits."""

import html as entities
import re

import pytest
from django.core import mail
from django.urls import reverse

from catalogue.models import Book
from catalogue.onix.imports import books_import_onix
from catalogue.stock.snapshots import stock_import
from orders.models import Alert, Order
from tests.factories import BookFactory, ShopFactory

pytestmark = pytest.mark.django_db

UNKNOWN = "9782070360024"  # ISBN-10 2-07-036002-4
UNKNOWN_979 = "9791090648524"
BAYONNE_SHOP = {"latitude": 43.4933, "longitude": -1.4753, "town": "Bayonne", "postcode": "64100", "department": "64"}


def onix(isbn: str, title: str, status: str = "04") -> bytes:
    """A one-product ONIX 3.0 message; PublishingStatus 04 is active (available), 02 forthcoming."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ONIXMessage release="3.0"><Header><Sender><SenderName>Diffuseur</SenderName></Sender></Header>
<Product><RecordReference>r-{isbn}</RecordReference><NotificationType>03</NotificationType>
<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn}</IDValue></ProductIdentifier>
<DescriptiveDetail><ProductComposition>00</ProductComposition><ProductForm>BC</ProductForm>
<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel>
<TitleText>{title}</TitleText></TitleElement></TitleDetail></DescriptiveDetail>
<PublishingDetail><PublishingStatus>{status}</PublishingStatus></PublishingDetail>
</Product></ONIXMessage>""".encode()


def order_form(client, isbn=UNKNOWN):
    page = client.get(reverse("orders:new", args=[isbn]))
    html = entities.unescape(page.content.decode())
    return page, {
        "shop": re.search(r'name="shop"[^>]*>\s*<option value="(\d+)"', html).group(1),
        "form_token": re.search(r'name="form_token" value="([^"]+)"', html).group(1),
        "reader_name": "Jeanne Lecture",
        "reader_email": "jeanne@example.org",
        "quantity": "1",
    }


@pytest.mark.parametrize("typed", ["2070360024", "2-07-036002-4", "978-2-07-036002-4", "ISBN 9782070360024"])
def test_a_search_for_an_unknown_isbn_in_any_form_offers_an_order_and_an_alert(client, typed):
    page = client.get(reverse("catalogue:search"), {"q": typed})
    html = entities.unescape(page.content.decode())
    assert page.status_code == 200
    assert "Aucun livre du réseau n'a l'ISBN 978-2-07-036002-4" in html
    assert "Commander via une librairie" in html and f'href="/orders/new/{UNKNOWN}/"' in html
    assert f'href="/orders/alerts/new/{UNKNOWN}/"' in html
    assert not Book.objects.exists()  # a search writes nothing


def test_a_979_isbn_is_offered_too(client):
    html = entities.unescape(client.get(reverse("catalogue:search"), {"q": "979-10-90648-52-4"}).content.decode())
    assert f'href="/orders/new/{UNKNOWN_979}/"' in html


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("9782070360025", "clé de contrôle incorrecte"),
        ("2070360025", "clé de contrôle incorrecte"),
        ("3760123456786", "978 ou 979"),
    ],
)
def test_a_search_for_a_wrong_isbn_says_why_and_offers_no_order(client, typed, reason):
    page = client.get(reverse("catalogue:search"), {"q": typed})
    html = entities.unescape(page.content.decode())
    assert page.status_code == 200
    assert "ressemble à un ISBN mais n'en est pas un" in html and reason in html
    assert "/orders/new/" not in html


def test_the_order_form_for_an_unknown_isbn_writes_nothing_until_the_reader_submits(client, mailbox):
    ShopFactory(name="La Plume")
    page, data = order_form(client)
    html = entities.unescape(page.content.decode())
    assert page.status_code == 200
    main = html.split("<main", 1)[1]
    assert "pas encore dans notre catalogue" in main and main.count("978-2-07-036002-4") == 1, (
        "the ISBN once, in the heading"
    )
    assert 'name="book_title"' in html and "Retour à la recherche" in html
    assert not Book.objects.exists()
    # A refused form writes nothing either.
    bad = client.post(reverse("orders:new", args=[UNKNOWN]), {**data, "reader_email": "not-an-address"})
    assert bad.status_code == 400 and not Book.objects.exists()
    with mailbox():
        done = client.post(reverse("orders:new", args=[UNKNOWN]), {**data, "book_title": "  L'Étranger\x07 — Camus  "})
    made = Order.objects.get()
    assert done.status_code == 302 and done.url == made.get_reader_url()
    book = made.book
    assert (book.isbn, book.title) == (UNKNOWN, "L'Étranger — Camus")
    assert book.provenance_of("title")["source"] == Book.Source.READER
    assert "L'Étranger — Camus" in mail.outbox[0].body
    # The same form sent again makes no second book nor order.
    again = client.post(reverse("orders:new", args=[UNKNOWN]), {**data, "book_title": "Autre chose"})
    assert again.status_code == 302 and Order.objects.count() == 1 and Book.objects.count() == 1
    # Now the catalogue knows it: the search goes to its page, which offers the order.
    search = client.get(reverse("catalogue:search"), {"q": "2070360024"})
    assert search.status_code == 302 and search.url == book.get_absolute_url()


def test_without_a_title_the_book_is_named_by_its_isbn(client, mailbox):
    ShopFactory()
    _page, data = order_form(client)
    with mailbox():
        client.post(reverse("orders:new", args=[UNKNOWN]), data)
    assert Book.objects.get().title == "ISBN 978-2-07-036002-4"


def test_a_refused_order_makes_no_book(client, settings, mailbox):
    settings.ORDERS_MAX_ACTIVE_PER_EMAIL = 1
    shop = ShopFactory()
    from orders import services

    with mailbox():
        services.order_request(
            book=BookFactory(), shop=shop, quantity=1, reader_name="J", reader_email="jeanne@example.org"
        )
    _page, data = order_form(client)
    refused = client.post(reverse("orders:new", args=[UNKNOWN]), data)
    assert refused.status_code == 400 and "commandes en cours" in entities.unescape(refused.content.decode())
    assert not Book.objects.filter(isbn=UNKNOWN).exists()


def test_other_forms_of_the_isbn_redirect_and_bad_ones_are_refused_clearly(client):
    for view in ("orders:new", "orders:alert_new"):
        moved = client.get(reverse(view, args=["2-07-036002-4"]))
        assert moved.status_code == 302 and moved.url == reverse(view, args=[UNKNOWN])
        for forged, reason in (
            ("9782070360025", "clé de contrôle incorrecte"),
            ("3760123456786", "978 ou 979"),
            ("abc<script>", "10 ou 13 chiffres"),
            ("9" * 300, "10 ou 13 chiffres"),
        ):
            page = client.get(reverse(view, args=[forged]))
            html = entities.unescape(page.content.decode())
            assert page.status_code == 400 and "n'est pas un ISBN valable" in html and reason in html
            assert b"abc<script>" not in page.content  # escaped
        assert client.get("/orders/new/978207036002%00/").status_code == 400
        assert client.post(reverse(view, args=[UNKNOWN]), {"book_title": "a\x00b"}).status_code == 400
    assert not Book.objects.exists()


def test_onix_and_shop_files_overwrite_the_readers_title(client, mailbox):
    shop = ShopFactory(**BAYONNE_SHOP)
    _page, data = order_form(client)
    with mailbox():
        client.post(reverse("orders:new", args=[UNKNOWN]), {**data, "book_title": "l etranger"})
    stock_import(shop=shop, data=f"EAN;Qté;Titre\r\n{UNKNOWN};1;L'ÉTRANGER\r\n".encode(), partial=True)
    book = Book.objects.get(isbn=UNKNOWN)
    assert book.title == "L'ÉTRANGER" and book.provenance_of("title")["source"] == Book.Source.SHOP_FILE
    books_import_onix(source=onix(UNKNOWN, "L'Étranger"))
    book.refresh_from_db()
    assert book.title == "L'Étranger" and book.provenance_of("title")["source"] == Book.Source.ONIX


def test_an_alert_on_an_unknown_isbn_fires_when_a_shop_file_brings_it_near(client, mailbox):
    shop = ShopFactory(name="Librairie du Port", **BAYONNE_SHOP)
    page = client.get(reverse("orders:alert_new", args=[UNKNOWN_979]))
    html = entities.unescape(page.content.decode())
    assert page.status_code == 200 and 'name="book_title"' in html and not Book.objects.exists()
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    with mailbox():
        done = client.post(
            reverse("orders:alert_new", args=[UNKNOWN_979]),
            {
                "reader_email": "lea@example.org",
                "where": f"shop:{shop.pk}",
                "form_token": token,
                "book_title": "Un roman",
            },
        )
    alert = Alert.objects.select_related("book").get()
    assert done.status_code == 302 and done.url == alert.book.get_absolute_url()
    assert alert.book.title == "Un roman" and alert.book.provenance_of("title")["source"] == Book.Source.READER
    link = re.search(r"/orders/alerts/confirm/(\S+)/", mail.outbox[-1].body).group(0)
    with mailbox():
        client.post(link)
        stock_import(shop=shop, data=f"EAN;Qté\r\n{UNKNOWN_979};2\r\n".encode(), partial=True)
    assert [m.to for m in mail.outbox if "disponible près de chez vous" in m.subject] == [["lea@example.org"]]
