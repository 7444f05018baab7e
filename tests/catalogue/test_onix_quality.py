"""Catalogue quality from real feeds (issue 12): encodings, texts, roles, product forms, deletions, provenance."""

import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import translation

from catalogue.models import Book, Contributor, FormLink, Subject
from catalogue.onix import OnixDeletion, OnixHeader, OnixProduct, books_import_onix, html_to_text, iter_onix
from catalogue.onix.subjects import subject_names, subjects_ensure
from catalogue.search import search_books, update_index
from catalogue.search.forms import SearchForm
from catalogue.stock.snapshots import stock_import
from reservations.exceptions import NotCollectable
from reservations.services import reservation_create
from tests.factories import ShopFactory, StockLineFactory

DATA = Path(__file__).parent.parent / "data" / "onix"
Role = Contributor.Role
PHEBUS_EBOOK = "9782752908643"  # "Certaines n'avaient jamais vu la mer", EPUB (ProductForm EA)
PHEBUS_PRINT = "9782752906700"  # its print edition, given as related product 13
MACMILLAN = DATA / "jonix/onix3-multiple.xml"


def read(name):
    header = OnixHeader()
    return list(iter_onix(DATA / name, header)), header


def books_of(items):
    return {item.isbn: item for item in items if isinstance(item, OnixProduct)}


# --- 1. A wrong encoding declaration ---------------------------------------------------


def test_a_feed_declared_utf8_but_written_in_windows_1252_loses_nothing():
    items, header = read("derived/french_feed_cp1252_declared_utf8.xml")
    books = books_of(items)
    assert len(items) == 25  # 4 Phébus products + the 21 Macmillan ones, after the first accented byte
    assert set(books) >= {PHEBUS_EBOOK, *books_of(read("jonix/onix3-multiple.xml")[0])}
    assert books[PHEBUS_EBOOK].publisher == "Phébus"
    assert "aux États-Unis" in books[PHEBUS_EBOOK].summary
    assert header.encoding == "cp1252" and "Windows-1252" in header.warnings[0]


@pytest.mark.django_db
def test_the_report_says_which_encoding_was_used():
    report = books_import_onix(source=DATA / "derived/french_feed_cp1252_declared_utf8.xml")
    assert not report.failed
    assert report.created == 21
    assert report.encoding == "cp1252" and "UTF-8" in report.file_warnings[0]
    assert Book.objects.get(isbn=PHEBUS_EBOOK).contributors.get().name == "Julie Otsuka"


def test_a_correct_declaration_is_trusted_and_a_latin1_declaration_over_utf8_bytes_is_caught():
    data = (DATA / "im_onix/9782752906700.xml").read_bytes()
    header = OnixHeader()
    assert books_of(iter_onix(data, header))[PHEBUS_EBOOK].publisher == "Phébus"
    assert (header.encoding, header.warnings) == ("utf-8", [])
    lying = data.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1).replace(
        b"encoding='UTF-8'", b"encoding='ISO-8859-1'", 1
    )
    assert lying != data
    header = OnixHeader()
    assert books_of(iter_onix(lying, header))[PHEBUS_EBOOK].publisher == "Phébus"  # not "PhÃ©bus"
    assert header.encoding == "utf-8" and "ISO-8859-1" in header.warnings[0]


# --- 2. Summaries with entities -----------------------------------------------------------


def test_a_summary_of_entities_without_markup_is_unescaped():
    (book,) = [i for i in read("derived/entities_only_summary.xml")[0] if isinstance(i, OnixProduct)]
    assert "&" not in book.summary
    assert book.summary.startswith("Japon, 1919. Un bateau quitte l’Empire du Levant avec à son bord")
    assert "aux États-Unis" in book.summary and "chœur" in book.summary
    assert "\n" in book.summary  # its paragraphs are kept


@pytest.mark.parametrize(
    "raw, text",
    [
        ("d&eacute;j&agrave; vu", "déjà vu"),
        ("  Un   texte\u00a0&nbsp;espacé  \n\n\n second  paragraphe ", "Un texte espacé\nsecond paragraphe"),
        ("&lt;p&gt;Doublement &amp;eacute;chapp&eacute;&lt;/p&gt;", "Doublement échappé"),
        ("<p>Un</p><p>Deux &amp; trois</p>", "Un\nDeux & trois"),
    ],
)
def test_html_to_text(raw, text):
    assert html_to_text(raw) == text


# --- 7. Every contributor role ------------------------------------------------------------


@pytest.mark.django_db
def test_every_role_is_stored_grouped_and_labelled_on_the_book_page(client, settings):
    books_import_onix(source=DATA / "derived/every_contributor_role.xml")
    book = Book.objects.get(isbn="9780007232833")
    assert {c.role for c in book.contributors.all()} == set(Role.values)
    html = client.get(book.get_absolute_url()).content.decode()
    for phrase in (
        "Illustrations de Jean Dupont",
        "Photographies de Marie Curie-Martin",
        "Sous la direction de Henning Mankell, Serge Série",
        "Préface de Per Wahlöö, Ian Introduction",
        "Postface de Anne Postface",
        "Adaptation de Paul Adapte",
        "Lu par Claire Lecture",
        "Avec la participation de Zoé Assistante",
    ):
        assert phrase in html
    assert "Lois Roth" in html.split("Traducteur", 1)[1][:200]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(book.get_absolute_url()).content.decode()
    assert "Illustrated by Jean Dupont" in html and "Edited by Henning Mankell" in html


@pytest.mark.django_db
def test_a_book_with_only_editors_shows_them_in_results():
    books_import_onix(source=DATA / "derived/every_contributor_role.xml")
    book = Book.objects.get(isbn="9780007232833")
    book.contributors.exclude(role=Role.EDITOR).delete()
    update_index([book.pk])
    (found,) = search_books(query="Roseanna").books
    with translation.override("fr"):
        assert found.byline() == ("Sous la direction de", ["Henning Mankell", "Serge Série"])


# --- 8. Product form ------------------------------------------------------------------------


@pytest.mark.django_db
def test_print_audio_ebooks_and_other_products_are_told_apart():
    for name in (
        "im_onix/9782752906700.xml",
        "jonix/onix3-multiple.xml",
        "jonix/single-book-onix2.xml",
        "derived/audio_download.xml",
    ):
        books_import_onix(source=DATA / name)
    form = dict(Book.objects.values_list("isbn", "product_form"))
    assert form[PHEBUS_EBOOK] == Book.Form.EBOOK  # EA
    assert form["9781576753422"] == Book.Form.EBOOK  # ONIX 2.1 DG
    assert form["9780000000002"] == Book.Form.AUDIO  # AJ, MP3 download
    assert form["9781509801831"] == Book.Form.OTHER  # SA: an activity case
    assert form["9781743537503"] == Book.Form.OTHER  # PD: cards
    assert form["9780330302630"] == Book.Form.PRINT  # BC
    collectable = {b.isbn: b.is_collectable for b in Book.objects.all()}
    assert not collectable[PHEBUS_EBOOK] and not collectable["9780000000002"] and not collectable["9781509801831"]
    assert collectable["9780330302630"]
    assert Book(product_form=Book.Form.AUDIO, product_form_code="AC").is_collectable  # an audio CD


@pytest.mark.django_db
def test_an_ebook_is_labelled_linked_to_its_print_book_and_not_offered_for_collection(client):
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    shop = ShopFactory(name="La Plume d'Oie")
    stock_import(
        shop=shop,
        data=f"EAN;Qté;Titre\n{PHEBUS_PRINT};2;Certaines n'avaient jamais vu la mer\n{PHEBUS_EBOOK};1;\n".encode(),
        filename="stock.csv",
    )
    ebook, print_book = Book.objects.get(isbn=PHEBUS_EBOOK), Book.objects.get(isbn=PHEBUS_PRINT)
    assert list(ebook.other_forms()) == [print_book] and list(print_book.other_forms()) == [ebook]
    html = client.get(ebook.get_absolute_url()).content.decode()
    assert "Livre numérique" in html and "non proposé en retrait en librairie" in html
    assert reverse("reservations:new", args=[ebook.stock_lines.get().pk]) not in html
    assert print_book.get_absolute_url() in html
    html = client.get(print_book.get_absolute_url()).content.decode()
    assert ebook.get_absolute_url() in html
    assert reverse("reservations:new", args=[print_book.stock_lines.get().pk]) in html
    with pytest.raises(NotCollectable):
        reservation_create(stock_line=ebook.stock_lines.get(), quantity=1, reader_name="Ada", reader_email="a@b.fr")


# --- 9. Deletion notices --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_deletion_notice_removes_a_book_no_shop_holds():
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    (item,) = [i for i in read("derived/deletion_notice.xml")[0]]
    assert isinstance(item, OnixDeletion) and item.isbn == PHEBUS_EBOOK
    report = books_import_onix(source=DATA / "derived/deletion_notice.xml")
    assert (report.deleted, report.withdrawn, report.unchanged, report.updated) == (1, 0, 0, 0)
    assert not Book.objects.filter(isbn=PHEBUS_EBOOK).exists()


@pytest.mark.django_db
def test_a_deletion_notice_withdraws_the_onix_metadata_of_a_book_shops_hold():
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    StockLineFactory(book=Book.objects.get(isbn=PHEBUS_EBOOK))
    report = books_import_onix(source=DATA / "derived/deletion_notice.xml")
    assert (report.deleted, report.withdrawn, report.unchanged) == (0, 1, 0)
    book = Book.objects.get(isbn=PHEBUS_EBOOK)
    assert book.title == "Certaines n'avaient jamais vu la mer"  # the page keeps a heading
    assert (book.publisher, book.summary, book.page_count) == ("", "", None)
    assert not book.contributors.exists() and not book.subjects.exists() and not FormLink.objects.exists()
    assert book.provenance_of("title")["withdrawn"]
    # A shop file may now give its own title and publisher.
    stock_import(
        shop=ShopFactory(), data=f"EAN;Qté;Titre;Éditeur\n{PHEBUS_EBOOK};1;Certaines (poche);Phébus\n".encode()
    )
    book.refresh_from_db()
    assert (book.title, book.publisher) == ("Certaines (poche)", "Phébus")


# --- 6. Subjects ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_thema_subjects_get_french_and_english_names_never_codes(client):
    books_import_onix(source=DATA / "im_onix/full_sample.xml")
    book = Book.objects.get(isbn="9780007232833")
    thema = {s.code: s for s in book.subjects.filter(scheme=Subject.Scheme.THEMA)}
    assert thema["FFP"].name == subject_names("thema", "FFP")[0] != "FFP"
    assert thema["FFP"].name_en == "Crime & mystery: police procedural"
    html = client.get(book.get_absolute_url()).content.decode()
    assert thema["FFP"].name in html and ">FFP<" not in html
    cache_free = SearchForm({}).fields["genre"].choices
    assert thema["FFP"].name in dict(cache_free).values()


def test_the_thema_and_clil_tables():
    assert subject_names("thema", "WTH") == ("Guides de voyage et guides touristiques", "Travel & holiday guides")
    assert subject_names("clil", "3358")[0] == "Saints et grandes figures du catholicisme"
    assert subject_names("thema", "ZZZ9", "Inconnu") == ("Inconnu", "")


@pytest.mark.django_db
def test_a_subject_named_by_its_code_is_renamed_on_the_next_import():
    Subject.objects.create(scheme=Subject.Scheme.THEMA, code="WTH", name="WTH")
    ids = subjects_ensure({("thema", "WTH", "")})
    subject = Subject.objects.get(pk=ids[("thema", "WTH")])
    assert subject.name == "Guides de voyage et guides touristiques"
    with translation.override("en"):
        assert str(subject) == "Travel & holiday guides"


# --- 10. Provenance and shop files ---------------------------------------------------------


@pytest.mark.django_db
def test_a_book_created_without_title_gets_one_from_a_later_shop_file(django_capture_on_commit_callbacks):
    first, second = ShopFactory(name="La Plume d'Oie"), ShopFactory(name="Le Chat qui lit")
    with django_capture_on_commit_callbacks(execute=True):
        stock_import(shop=first, data=b"EAN;Qte\n9782070368228;1\n", filename="sans-titre.csv")
    assert Book.objects.get(isbn="9782070368228").title == ""
    with django_capture_on_commit_callbacks(execute=True):
        stock_import(
            shop=second,
            data=b"EAN;Qte;Titre;Auteur\n9782070368228;1;L'Etranger;Albert Camus\n",
            filename="stock-chat.csv",
        )
    book = Book.objects.get(isbn="9782070368228")
    assert book.title == "L'Etranger" and [c.name for c in book.authors] == ["Albert Camus"]
    assert book.provenance_of("title")["shop_name"] == "Le Chat qui lit"
    assert search_books(query="etranger").books == [book]


@pytest.mark.django_db
def test_when_shops_disagree_the_one_with_more_copies_wins_then_the_newer_file():
    few, many = ShopFactory(name="La Plume d'Oie"), ShopFactory(name="Le Chat qui lit")
    stock_import(shop=few, data=b"EAN;Qte;Titre\n9782070368228;1;ETRANGER (L')\n")
    stock_import(shop=many, data=b"EAN;Qte;Titre\n9782070368228;4;L'Etranger\n")
    assert Book.objects.get(isbn="9782070368228").title == "L'Etranger"
    stock_import(shop=few, data=b"EAN;Qte;Titre\n9782070368228;2;ETRANGER\n")  # fewer copies than 4: ignored
    assert Book.objects.get(isbn="9782070368228").title == "L'Etranger"
    stock_import(shop=few, data="EAN;Qte;Titre\n9782070368228;4;L'Étranger\n".encode())  # as many, newer: wins
    assert Book.objects.get(isbn="9782070368228").title == "L'Étranger"
    books_import_onix(source=DATA / "im_onix/onix2.xml")  # ONIX for another book does not matter here


@pytest.mark.django_db
def test_provenance_is_readable_in_the_admin(client, django_user_model):
    shop = ShopFactory(name="La Plume d'Oie")
    stock_import(shop=shop, data=b"EAN;Qte;Titre\n9782070368228;1;L'Etranger\n", filename="stock-plume.csv")
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    book = Book.objects.get(isbn="9782070368228")
    today = datetime.date.today()
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw-123456"))
    html = client.get(reverse("admin:catalogue_book_change", args=[book.pk])).content.decode()
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    expected = f"Titre : fichier de stock de La Plume d&#x27;Oie (stock-plume.csv), 1 ex., {today.day} {months[today.month - 1]}"
    assert expected in html
    ebook = Book.objects.get(isbn=PHEBUS_EBOOK)
    html = client.get(reverse("admin:catalogue_book_change", args=[ebook.pk])).content.decode()
    assert "Éditeur : notice ONIX de immatériel·fr (9782752906700.xml)" in html
    assert "Contributeurs : notice ONIX de immatériel·fr" in html and "Genres : notice ONIX" in html


# --- 11. Memory whatever DEBUG says ----------------------------------------------------------


@pytest.mark.django_db
def test_an_import_with_debug_on_does_not_keep_every_query(settings):
    settings.DEBUG = True
    report = books_import_onix(source=MACMILLAN)
    assert report.created == 20
    assert len(connection.queries) == 0


# --- 11. Unchanged records are skipped whole --------------------------------------------------


@pytest.mark.django_db
def test_an_unchanged_record_sent_again_changes_nothing_and_is_counted_unchanged():
    first = books_import_onix(source=MACMILLAN)
    before = {b.isbn: (b.title, b.updated_at, b.provenance, b.onix_digest) for b in Book.objects.all()}
    contributors = sorted(Contributor.objects.values_list("book__isbn", "name", "role", "position"))
    assert first.created == len(before) and all(digest for *_rest, digest in before.values())

    again = books_import_onix(source=MACMILLAN)
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    assert again.isbns == first.isbns and not again.book_ids
    assert {b.isbn: (b.title, b.updated_at, b.provenance, b.onix_digest) for b in Book.objects.all()} == before
    assert sorted(Contributor.objects.values_list("book__isbn", "name", "role", "position")) == contributors


@pytest.mark.django_db
def test_an_unchanged_record_is_not_read_again():
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    Book.objects.filter(isbn=PHEBUS_EBOOK).update(publisher="Changed behind the import's back")
    report = books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert report.unchanged == 1
    assert Book.objects.get(isbn=PHEBUS_EBOOK).publisher == "Changed behind the import's back"


@pytest.mark.django_db
def test_a_changed_record_is_applied_and_its_new_digest_kept():
    data = (DATA / "im_onix/9782752906700.xml").read_bytes()
    books_import_onix(source=data)
    digest = Book.objects.get(isbn=PHEBUS_EBOOK).onix_digest
    changed = data.replace(b"<PublisherName>Ph\xc3\xa9bus</PublisherName>", b"<PublisherName>Libretto</PublisherName>")
    assert changed != data
    report = books_import_onix(source=changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    book = Book.objects.get(isbn=PHEBUS_EBOOK)
    assert book.publisher == "Libretto" and book.onix_digest not in ("", digest)
    assert books_import_onix(source=changed).unchanged == 1


@pytest.mark.django_db
def test_a_record_sent_again_after_its_deletion_notice_is_applied_again():
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    StockLineFactory(book=Book.objects.get(isbn=PHEBUS_EBOOK))
    deletion = books_import_onix(source=DATA / "derived/deletion_notice.xml")
    assert deletion.withdrawn == 1
    book = Book.objects.get(isbn=PHEBUS_EBOOK)
    assert (book.publisher, book.onix_digest) == ("", "")

    again = books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert (again.updated, again.unchanged) == (1, 0)
    book.refresh_from_db()
    assert book.publisher == "Phébus" and book.onix_digest
    assert book.contributors.get().name == "Julie Otsuka"


@pytest.mark.django_db
def test_a_deletion_notice_of_a_book_imported_unchanged_still_removes_it():
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert books_import_onix(source=DATA / "im_onix/9782752906700.xml").unchanged == 1
    report = books_import_onix(source=DATA / "derived/deletion_notice.xml")
    assert report.deleted == 1 and not Book.objects.filter(isbn=PHEBUS_EBOOK).exists()


@pytest.mark.django_db
def test_a_staff_edit_makes_the_next_onix_record_read_in_full(client, django_user_model):
    books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    book = Book.objects.get(isbn=PHEBUS_EBOOK)
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-123456"))
    response = client.post(
        reverse("admin:catalogue_book_change", args=[book.pk]),
        {
            "isbn": book.isbn,
            "title": book.title,
            "publisher": "",  # cleared by staff: ONIX may give it again
            "availability": book.availability,
            "product_form": book.product_form,
            "contributors-TOTAL_FORMS": "0",
            "contributors-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert Book.objects.get(pk=book.pk).onix_digest == ""
    report = books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert report.updated == 1
    assert Book.objects.get(pk=book.pk).publisher == "Phébus"
