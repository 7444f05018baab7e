import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalogue.models import Book, Contributor, StockLine, Subject
from catalogue.onix import (
    OnixFileError,
    OnixProduct,
    ProductProblem,
    books_import_onix,
    html_to_text,
    iter_onix,
    parse_onix_date,
)
from tests.factories import BookFactory, ContributorFactory

DATA = Path(__file__).parent.parent / "data" / "onix"
Role = Contributor.Role


def products(name):
    return [p for p in iter_onix(DATA / name) if isinstance(p, OnixProduct)]


def problems(name):
    return [p for p in iter_onix(DATA / name) if isinstance(p, ProductProblem)]


def test_french_publisher_feed_keeps_the_book_and_reports_the_rest():
    items = list(iter_onix(DATA / "im_onix/9782752906700.xml"))
    books = [p for p in items if isinstance(p, OnixProduct)]
    assert len(items) == 4 and len(books) == 1
    book = books[0]
    assert book.isbn == "9782752908643"
    assert book.title == "Certaines n'avaient jamais vu la mer"
    assert book.publisher == "Phébus"
    assert book.collection == "Littérature étrangère"
    assert book.contributors == [("Julie Otsuka", Role.AUTHOR)]
    assert book.published_on == datetime.date(2012, 9, 6)
    assert book.page_count == 144
    assert book.language == "fre"
    assert book.availability == Book.Availability.AVAILABLE
    assert book.subjects == [(Subject.Scheme.CLIL, "2312", "Romans contemporains")]
    # HTML in the summary becomes plain text, paragraphs kept.
    assert "<" not in book.summary and "Prix Femina étranger 2012" in book.summary
    assert book.summary.startswith("Japon, 1919.")
    # Products without an ISBN (streaming, bundles with a non-book GTIN) are reported.
    assert all("ISBN" in p.error for p in items if isinstance(p, ProductProblem))


def test_collection_title_is_not_the_book_title_and_roles_are_mapped():
    (book,) = products("im_onix/full_sample.xml")
    assert book.title == "Roseanna"
    assert book.collection == "The Martin Beck series"
    assert book.contributors[:3] == [
        ("Maj Sjöwall", Role.AUTHOR),
        ("Per Wahlöö", Role.AUTHOR),
        ("Lois Roth", Role.TRANSLATOR),
    ]
    assert ("Henning Mankell", Role.PREFACE) in book.contributors or (
        "Henning Mankell",
        Role.OTHER,
    ) in book.contributors


@pytest.mark.parametrize(
    "name", ["im_onix/short.xml", "jonix/single-book-onix3-short.xml", "jonix/Onix3.1-single-ref.xml"]
)
def test_short_tags_and_onix_31_read_like_reference_tags(name):
    (book,) = products(name)
    assert (book.isbn, book.title, book.collection, book.page_count) == (
        "9780007232833",
        "Roseanna",
        "The Martin Beck series",
        245,
    )
    assert book.publisher == "HarperCollins Publishers"
    assert book.contributors[2] == ("Lois Roth", Role.TRANSLATOR)


def test_namespaced_and_plain_short_files():
    assert [p.value for p in problems("onixcheck/valid_onix3_ref_ns.xml")] == ["9788871184371"]
    assert [p.value for p in problems("onixcheck/valid_onix3_short.xml")] == ["9788871184371"]
    (google,) = products("onixcheck/valid_google_onix_3.xml")
    assert google.title == "This Is My Distinctive Title" and google.subtitle == "This Is A Subtitle"


def test_macmillan_feed_out_of_print_and_forthcoming():
    books = {p.isbn: p for p in products("jonix/onix3-multiple.xml")}
    assert len(books) == 20  # 21 products, one ISBN listed twice
    assert books["9780330302630"].availability == Book.Availability.OUT_OF_PRINT  # PublishingStatus 07
    assert books["9781509854172"].availability == Book.Availability.FORTHCOMING  # PublishingStatus 02
    assert books["9780330520331"].availability == Book.Availability.AVAILABLE
    london = books["9781509883684"]
    assert (london.title, london.collection) == ("London", "My First Touch and Find")
    assert london.contributors == [("Marion Billet", Role.AUTHOR), ("Marion Billet", Role.ILLUSTRATOR)]


def test_onix_21_feed_reads_like_onix_3():
    onix2 = {p.isbn: p for p in products("jonix/onix2-multiple.xml")}
    onix3 = {p.isbn: p for p in products("jonix/onix3-multiple.xml")}
    assert onix2.keys() == onix3.keys()
    for isbn, book in onix2.items():
        assert (book.title, book.availability) == (onix3[isbn].title, onix3[isbn].availability)
    (bnf,) = products("im_onix/onix2.xml")
    assert bnf.title == "La Physiologie de l'esprit"
    assert bnf.contributors == [("Frédéric Paulhan", Role.AUTHOR)]
    assert bnf.page_count == 197 and bnf.language == "fre"
    (wiley,) = products("im_onix/test_wiley_data.xml")
    assert (wiley.title, wiley.collection) == ("Modern Banking", "The TEST Finance Series")


def test_wrong_check_digit_is_a_product_problem():
    (problem,) = list(iter_onix(DATA / "im_onix/9782707154298.xml"))
    assert isinstance(problem, ProductProblem)
    assert problem.value == "9782707154298"
    assert "clé de contrôle" in problem.error


def test_bad_content_date_does_not_spoil_the_product():
    (book,) = products("im_onix/bad_content_date_format.xml")
    assert book.title == "Simple"
    assert book.published_on == datetime.date(2013, 11, 5)  # DateFormat 14, with a time
    assert book.availability == Book.Availability.OUT_OF_PRINT  # PublishingStatus 08 inactive
    assert (Subject.Scheme.CLIL, "3722", "JEUNESSE") in book.subjects  # name from the CLIL table


def test_invalid_textformat_product_without_identifier_is_reported():
    (problem,) = list(iter_onix(DATA / "im_onix/invalid_textformat.xml"))
    assert isinstance(problem, ProductProblem) and "ISBN" in problem.error


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "vide"),
        (b"ISBN;Qte\n9782070368228;2\n", "XML illisible"),
        (b"<ONIXMessage><Product><RecordReference>x</Record", "tronqué"),
        ((DATA / "onixcheck/invalid_onix_root.xml").read_bytes(), "ONIXMESAGE"),
        ((DATA / "im_onix/test_prices1.xml").read_bytes(), "pas un message ONIX"),
    ],
)
def test_files_that_are_not_onix(data, message):
    with pytest.raises(OnixFileError) as excinfo:
        list(iter_onix(data))
    assert message in excinfo.value.message


@pytest.mark.parametrize(
    "value, fmt, expected",
    [
        ("20120906", "", datetime.date(2012, 9, 6)),
        ("1989", "05", datetime.date(1989, 1, 1)),
        ("201903", "01", datetime.date(2019, 3, 1)),
        ("2011-08-31", "", datetime.date(2011, 8, 31)),
        ("20131105T000000+0100", "14", datetime.date(2013, 11, 5)),
        ("20163112", "00", None),
        ("soon", "", None),
    ],
)
def test_parse_onix_date(value, fmt, expected):
    assert parse_onix_date(value, fmt) == expected


def test_message_without_products_is_not_an_error():
    assert list(iter_onix(b"<ONIXMessage release='3.0'><Header/></ONIXMessage>")) == []
    assert list(iter_onix(b"<ONIXmessage release='3.0'/>")) == []


def test_html_to_text_is_safe():
    text = html_to_text("<p>Un <strong>grand</strong> livre</p><script>alert(1)</script><p>Suite &amp; fin</p>")
    assert text == "Un grand livre\nSuite & fin"


@pytest.mark.django_db
def test_import_creates_books_contributors_and_subjects(django_capture_on_commit_callbacks, monkeypatch):
    indexed = []
    monkeypatch.setattr("catalogue.tasks.update_index", lambda ids: indexed.extend(ids))
    with django_capture_on_commit_callbacks(execute=True):
        report = books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert (report.products_read, report.created, len(report.rejected)) == (4, 1, 3)
    book = Book.objects.get(isbn="9782752908643")
    assert book.publisher == "Phébus"
    assert [str(c) for c in book.contributors.all()] == ["Julie Otsuka (auteur)"]
    assert [s.name for s in book.subjects.all()] == ["Romans contemporains"]
    assert book.provenance_of("title")["source"] == Book.Source.ONIX
    assert indexed == [book.pk]
    assert report.isbns == {"9782752908643"}
    assert not StockLine.objects.exists()  # the feed's prices never become stock or shop prices

    # Importing the same file again changes nothing.
    again = books_import_onix(source=DATA / "im_onix/9782752906700.xml")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert book.contributors.count() == 1


@pytest.mark.django_db
def test_onix_overrides_shop_file_data_but_not_staff_edits():
    shop_book = BookFactory(isbn="9780330302630", title="RAGE", publisher="PAN")
    shop_book.apply_metadata({"title": "RAGE", "publisher": "PAN"}, Book.Source.SHOP_FILE)
    shop_book.save()
    ContributorFactory(book=shop_book, name="SMITH W")
    staff_book = BookFactory(isbn="9780330520331", title="The Forgotten (édition reliée)")
    staff_book.provenance = {"title": Book.Source.STAFF, "contributors": Book.Source.STAFF}
    staff_book.save()
    ContributorFactory(book=staff_book, name="D. Baldacci")

    report = books_import_onix(source=DATA / "jonix/onix3-multiple.xml")

    assert report.created == 18 and report.updated == 2 and not report.rejected
    shop_book.refresh_from_db()
    assert (shop_book.title, shop_book.publisher) == ("Rage: A Courtney Novel 6", "Pan Macmillan UK")
    assert shop_book.is_out_of_print
    assert [c.name for c in shop_book.contributors.all()] == ["Wilbur Smith"]
    staff_book.refresh_from_db()
    assert staff_book.title == "The Forgotten (édition reliée)"
    assert staff_book.collection == "John Puller"  # a field staff did not touch
    assert [c.name for c in staff_book.contributors.all()] == ["D. Baldacci"]


@pytest.mark.django_db
def test_invalid_files_are_reported_not_raised(tmp_path):
    truncated = tmp_path / "truncated.xml"
    data = (DATA / "jonix/onix3-multiple.xml").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    report = books_import_onix(source=truncated)
    assert report.failed and "tronqué" in report.file_error
    assert 0 < report.created < 20  # the complete products before the break are kept
    assert Book.objects.count() == report.created

    report = books_import_onix(source=b"not xml at all")
    assert report.failed and report.created == 0


@pytest.mark.django_db
def test_command_exit_code(tmp_path, capsys):
    call_command("import_onix", str(DATA / "im_onix/onix2.xml"), str(DATA / "im_onix/9782707154298.xml"))
    out = capsys.readouterr().out
    assert "livres ajoutés 1" in out
    assert "clé de contrôle incorrecte [9782707154298]" in out
    assert Book.objects.filter(isbn="9782346032532").exists()

    broken = tmp_path / "broken.xml"
    broken.write_text("<ONIXMessage><Product>")
    with pytest.raises(CommandError):
        call_command("import_onix", str(broken), str(DATA / "im_onix/full_sample.xml"))
    assert "ERREUR FICHIER" in capsys.readouterr().err
    assert Book.objects.filter(isbn="9780007232833").exists()  # the good file was still imported

    with pytest.raises(CommandError):
        call_command("import_onix", str(tmp_path / "missing.xml"))
