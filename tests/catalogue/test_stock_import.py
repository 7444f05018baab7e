import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalogue.exceptions import StockImportRefused
from catalogue.models import Book, StockImport, StockLine
from catalogue.stock.files import ProblemLog, StockFileReader
from catalogue.stock.snapshots import stock_import
from tests.factories import ShopFactory, StockLineFactory, make_isbn

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent.parent / "data" / "stock"
ETRANGER, PESTE, ALIENOR = "9782070368228", "9782070360246", "9782253004639"


def quantities(shop):
    return dict(StockLine.objects.filter(shop=shop).values_list("book__isbn", "quantity"))


def csv_bytes(rows, header="EAN;Qté", sep=";", encoding="utf-8"):
    lines = [header] + [sep.join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.mark.parametrize(
    "filename, encoding, delimiter",
    [
        ("librisoft_semicolon_utf8.csv", "utf-8", ";"),
        ("semicolon_cp1252.csv", "windows-1252", ";"),
    ],
)
def test_real_shop_exports_import_with_french_headers(filename, encoding, delimiter):
    shop = ShopFactory()
    record = stock_import(shop=shop, data=(DATA / filename).read_bytes(), filename=filename)
    assert (record.encoding, record.delimiter) == (encoding, delimiter)
    assert quantities(shop) == {ETRANGER: 3, PESTE: 2, ALIENOR: 1}
    assert StockLine.objects.get(shop=shop, book__isbn=PESTE).price == Decimal("9.90")
    alienor = Book.objects.get(isbn=ALIENOR)
    assert alienor.title == "Aliénor d'Aquitaine"
    assert alienor.publisher == "Le Livre de poche"
    assert [c.name for c in alienor.authors] == ["Régine Pernoud"]
    assert alienor.provenance_of("title")["source"] == Book.Source.SHOP_FILE
    assert (record.created_count, record.books_created_count, record.rejected_count) == (3, 3, 0)
    shop.refresh_from_db()
    assert shop.stock_reported_at is not None


def test_comma_separated_utf8_with_bom_and_quoted_commas():
    shop = ShopFactory()
    record = stock_import(shop=shop, data=(DATA / "comma_bom.csv").read_bytes())
    assert (record.encoding, record.delimiter) == ("utf-8-sig", ",")
    assert quantities(shop) == {ETRANGER: 4, PESTE: 2}
    assert Book.objects.get(isbn=ETRANGER).title == "L'Étranger, roman"
    assert StockLine.objects.get(shop=shop, book__isbn=ETRANGER).price == Decimal("8.30")


def test_tab_separated_english_headers():
    shop = ShopFactory()
    record = stock_import(shop=shop, data=(DATA / "tab_english.csv").read_bytes())
    assert record.delimiter == "\t"
    assert quantities(shop) == {ETRANGER: 5}


@pytest.mark.parametrize("header", ["Code EAN;Quantité", "GENCOD;STOCK", "isbn;qte", "Ean 13;Qté stock"])
def test_header_names_in_any_case_and_accents(header):
    shop = ShopFactory()
    stock_import(shop=shop, data=csv_bytes([[ETRANGER, 2]], header=header))
    assert quantities(shop) == {ETRANGER: 2}


def test_snapshot_drops_unlisted_lines_to_zero_and_keeps_held_copies():
    shop = ShopFactory()
    kept = StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=5, held=2)
    others = [StockLineFactory(shop=shop, quantity=1) for _ in range(3)]
    dropped = StockLineFactory(shop=shop, book__isbn=PESTE, quantity=4)
    rows = [[ETRANGER, 6]] + [[line.book.isbn, 1] for line in others]
    record = stock_import(shop=shop, data=csv_bytes(rows))
    dropped.refresh_from_db()
    kept.refresh_from_db()
    assert dropped.quantity == 0
    assert (kept.quantity, kept.held) == (6, 2), "an import never frees a held copy"
    assert (record.updated_count, record.unchanged_count, record.zeroed_count) == (1, 3, 1)


def test_other_shops_stock_is_untouched():
    shop, neighbour = ShopFactory(), ShopFactory()
    theirs = StockLineFactory(shop=neighbour, book__isbn=PESTE, quantity=4)
    stock_import(shop=shop, data=csv_bytes([[ETRANGER, 1]]))
    theirs.refresh_from_db()
    assert theirs.quantity == 4


def test_isbn10_hyphens_and_spaces_are_normalised():
    shop = ShopFactory()
    stock_import(shop=shop, data=csv_bytes([["2-07-036024-5", 1], ["978 2 07 036822 8", 2], ["978-2-253-00463-9", 3]]))
    assert quantities(shop) == {PESTE: 1, ETRANGER: 2, ALIENOR: 3}


def test_bad_rows_are_reported_by_line_and_good_rows_still_import():
    shop = ShopFactory()
    rows = [[make_isbn(i), 1] for i in range(30)]
    rows[4] = ["9782070368229", 1]  # wrong check digit, file line 6
    rows[9] = [ETRANGER, "deux"]  # line 11
    record = stock_import(shop=shop, data=csv_bytes(rows))
    assert record.applied
    assert record.rejected_count == 2
    errors = {(p["line"], p["level"]) for p in record.report}
    assert errors == {(6, "error"), (11, "error")}
    assert "clé de contrôle" in record.report[0]["error"]
    assert len(quantities(shop)) == 28


def test_an_unreadable_quantity_keeps_that_books_previous_stock():
    shop = ShopFactory()
    lines = [StockLineFactory(shop=shop, quantity=2) for _ in range(20)]
    rows = [[line.book.isbn, 2] for line in lines]
    rows[0][1] = "??"
    stock_import(shop=shop, data=csv_bytes(rows))
    lines[0].refresh_from_db()
    assert lines[0].quantity == 2


def test_negative_quantity_is_rejected_with_its_reason():
    shop = ShopFactory()
    rows = [[make_isbn(i), 1] for i in range(20)] + [[ETRANGER, -1]]
    record = stock_import(shop=shop, data=csv_bytes(rows))
    assert record.report[0]["line"] == 22
    assert "négative" in record.report[0]["error"]


def test_duplicate_isbns_add_up_with_a_warning():
    shop = ShopFactory()
    record = stock_import(shop=shop, data=csv_bytes([[ETRANGER, 1], ["2-07-036822-x", 2]]))
    assert quantities(shop) == {ETRANGER: 3}
    assert record.report[0]["level"] == "warning"
    assert record.rejected_count == 0


def test_prices_with_decimal_comma_currency_and_thousands():
    shop = ShopFactory()
    data = csv_bytes([[ETRANGER, 1, "8,30 €"], [PESTE, 1, "1 234,50"], [ALIENOR, 1, ""]], header="EAN;Qté;Prix")
    stock_import(shop=shop, data=data)
    prices = dict(StockLine.objects.filter(shop=shop).values_list("book__isbn", "price"))
    assert prices == {ETRANGER: Decimal("8.30"), PESTE: Decimal("1234.50"), ALIENOR: None}


def refused(**kwargs):
    with pytest.raises(StockImportRefused) as info:
        stock_import(**kwargs)
    return info.value.stock_import


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "vide"),
        (b"EAN;Qte\r\n", "aucune ligne"),
        (b"Nom;Adresse\r\nDupont;1 rue\r\n", "pas un fichier de stock"),
        (b"PK\x03\x04binaryjunk", "Excel"),
        (b'EAN;Qte\r\n9782070368228;1\r\n"9782070360246;2\r\n', "tronqué"),
    ],
)
def test_broken_files_are_refused_and_stock_is_unchanged(data, expected):
    shop = ShopFactory()
    line = StockLineFactory(shop=shop, quantity=7)
    record = refused(shop=shop, data=data, filename="broken.csv")
    assert record.status == StockImport.Status.REFUSED
    assert expected in record.message
    line.refresh_from_db()
    assert line.quantity == 7
    assert record.file.read() == data, "the refused file is kept"


def test_too_many_bad_rows_refuses_the_whole_file():
    shop = ShopFactory()
    line = StockLineFactory(shop=shop, quantity=7)
    rows = [[make_isbn(i), 1] for i in range(10)] + [["123", 1]] * 5
    record = refused(shop=shop, data=csv_bytes(rows))
    assert "5 lignes sur 15" in record.message
    assert len(record.report) == 5
    line.refresh_from_db()
    assert line.quantity == 7
    assert StockLine.objects.filter(shop=shop).count() == 1


def test_a_file_that_drops_most_of_the_stock_is_refused_unless_forced():
    shop = ShopFactory()
    lines = [StockLineFactory(shop=shop, quantity=2) for _ in range(10)]
    truncated = csv_bytes([[line.book.isbn, 2] for line in lines[:3]])
    record = refused(shop=shop, data=truncated)
    assert "7 des 10" in record.message
    assert sum(quantities(shop).values()) == 20
    stock_import(shop=shop, data=truncated, force=True)
    assert sum(quantities(shop).values()) == 6


def test_every_import_is_recorded_with_file_user_and_counts(django_user_model):
    shop = ShopFactory()
    user = django_user_model.objects.create_user("libraire")
    data = (DATA / "librisoft_semicolon_utf8.csv").read_bytes()
    stock_import(shop=shop, data=data, filename="export.csv", user=user, channel=StockImport.Channel.ADMIN)
    record = stock_import(shop=shop, data=data, filename="export.csv", user=user)
    assert StockImport.objects.filter(shop=shop).count() == 2
    assert (record.unchanged_count, record.created_count, record.created_by) == (3, 0, user)
    assert record.file.read() == data


def test_import_stock_command_reports_and_exits_non_zero_when_refused(tmp_path, capsys):
    shop = ShopFactory(slug="la-machine-a-lire")
    call_command("import_stock", "la-machine-a-lire", str(DATA / "librisoft_semicolon_utf8.csv"))
    assert "nouvelles 3" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Nom;Adresse\r\nx;y\r\n")
    with pytest.raises(CommandError):
        call_command("import_stock", "la-machine-a-lire", str(bad))
    assert quantities(shop)[ETRANGER] == 3
    with pytest.raises(CommandError, match="inconnue"):
        call_command("import_stock", "nope", str(bad))


def test_the_readers_fast_path_stages_what_the_full_reader_reads():
    isbn = make_isbn(4242)
    body = (
        "EAN;Titre;Auteur;Éditeur;Qté;Prix TTC\r\n"
        f"{isbn};L’Étranger;Albert Camus;Gallimard;3;8,30\r\n"  # clean: the fast path
        f"{isbn};  Deux  espaces ;\tTab;Éd.;007;12\r\n"  # texts to clean
        f"{isbn};Titre;;;100000;1234567,5\r\n"  # a price beyond the column: warned, none kept
        f"{isbn};Titre;;;100001;8.3\r\n"  # too many copies: rejected
        f"978-2-07-036822-8;Titre;A;B; 4 ;8,305\r\n"  # separators, spaces, three decimals
        f"{isbn};Titre;A;B;2;1.234,56\r\n"
        f"{isbn};Titre;A;B;2;€ 9\r\n"
        f"{isbn};Titre;A;B;-2;9\r\n"
        f"{isbn[:-1]}0;Titre;A;B;2;9\r\n"  # wrong check digit
        f"{isbn};Court\r\n"  # cut short
        ";;;;;\r\n"
        f"{isbn};T;A;B;0;0\r\n"
    ).encode()

    def read(method):
        problems = ProblemLog(100)
        reader = StockFileReader(io.BytesIO(body), problems=problems)
        return list(getattr(reader, method)()), problems.kept, reader.rows_read

    staged, staged_problems, staged_read = read("staged_rows")
    rows, problems, read_count = read("rows")
    assert staged == [
        (r.line, r.isbn, r.quantity, None if r.price is None else int(r.price * 100), r.title, r.author, r.publisher)
        for r in rows
    ]
    assert (staged_problems, staged_read) == (problems, read_count) and read_count == 11
    assert staged[0] == (2, isbn, 3, 830, "L’Étranger", "Albert Camus", "Gallimard")
    assert staged[1][2:] == (7, 1200, "Deux espaces", "Tab", "Éd.")
    assert staged[4][2:4] == (4, 831) and staged[5][3] == 123456 and staged[6][3] == 900
