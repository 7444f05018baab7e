"""Search, on whichever database is configured (SQLite by default, PostgreSQL with DATABASE_URL)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bookshops.models import Shop
from catalogue.isbn import hyphenate_isbn
from catalogue.models import Book, BookSearchDocument, SearchMiss, SearchWord, Subject
from catalogue.search import search_books, search_miss_record, update_index
from catalogue.stock.snapshots import stock_import
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory, make_isbn

pytestmark = pytest.mark.django_db

ALIENOR_ISBN = "9782253004639"


def titles(results):
    return [book.title for book in results.books]


def indexed(*books):
    update_index([book.pk for book in books])
    return books


@pytest.fixture
def catalogue():
    """A small catalogue: the books the issue's examples talk about, indexed."""
    alienor = BookFactory(
        isbn=ALIENOR_ISBN, title="Aliénor d'Aquitaine", publisher="Le Livre de Poche", collection="Biographies"
    )
    ContributorFactory(book=alienor, name="Régine Pernoud")
    economie = BookFactory(title="Économie du livre", subtitle="Une histoire des librairies", publisher="La Découverte")
    ContributorFactory(book=economie, name="François Rouet")
    cathedrales = BookFactory(title="Le temps des cathédrales", publisher="Gallimard", collection="Folio histoire")
    ContributorFactory(book=cathedrales, name="Georges Duby")
    books = {"alienor": alienor, "economie": economie, "cathedrales": cathedrales}
    indexed(*books.values())
    return books


# --- Accents, case, inflection, typos ------------------------------------------------


@pytest.mark.parametrize("query", ["alienor", "ALIÉNOR", "Aliénor", "aliénor d’aquitaine", "ALIENOR D'AQUITAINE"])
def test_case_and_accents_are_ignored(catalogue, query):
    assert titles(search_books(query=query)) == ["Aliénor d'Aquitaine"]


@pytest.mark.parametrize("query", ["economie", "ÉCONOMIE", "Économie", "Economie du livre"])
def test_accents_ignored_in_both_directions(catalogue, query):
    assert titles(search_books(query=query)) == ["Économie du livre"]


def test_accented_query_finds_unaccented_text():
    book = BookFactory(title="Les cafes de Paris")
    indexed(book)
    assert titles(search_books(query="Cafés")) == ["Les cafes de Paris"]


def test_ligature_oe_matches_o_e():
    book = BookFactory(title="Œuvres complètes")
    indexed(book)
    assert titles(search_books(query="oeuvres completes")) == ["Œuvres complètes"]
    assert titles(search_books(query="œuvres")) == ["Œuvres complètes"]


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["livres", "livre"])
def test_french_inflection_plural_finds_singular(catalogue, query):
    assert "Économie du livre" in titles(search_books(query=query))


@pytest.mark.postgres
def test_french_inflection_aquitain_and_aquitaine_are_close(catalogue):
    assert titles(search_books(query="aquitain")) == ["Aliénor d'Aquitaine"]
    assert titles(search_books(query="aquitains")) == ["Aliénor d'Aquitaine"]


def test_simple_plural_on_every_database(catalogue):
    book = BookFactory(title="Les cathédrales de France")
    indexed(book)
    assert "Le temps des cathédrales" in titles(search_books(query="cathedrale"))


@pytest.mark.parametrize("query", ["Pernou", "Aquitiane", "Alienro", "cathedrles"])
def test_one_typo_in_a_long_word_is_tolerated(catalogue, query):
    results = search_books(query=query)
    assert results.total == 1, query
    assert results.corrections


def test_typo_correction_says_what_it_searched(catalogue):
    results = search_books(query="Aquitiane")
    assert results.corrections == {"aquitiane": ["aquitaine"]}


def test_short_words_are_not_corrected(catalogue):
    # "duyb" is four letters: too short to guess a typo safely.
    assert search_books(query="duyb").total == 0


def test_unrelated_word_finds_nothing(catalogue):
    assert search_books(query="zzyzxqw").total == 0


# --- Fields and weights -------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Pernoud", "Aliénor d'Aquitaine"),  # author by surname alone
        ("Régine Pernoud", "Aliénor d'Aquitaine"),
        ("Duby", "Le temps des cathédrales"),
        ("histoire librairies", "Économie du livre"),  # subtitle
        ("Gallimard", "Le temps des cathédrales"),  # publisher
        ("Folio", "Le temps des cathédrales"),  # collection
        ("Biographies", "Aliénor d'Aquitaine"),
    ],
)
def test_searches_title_subtitle_contributors_publisher_collection(catalogue, query, expected):
    assert titles(search_books(query=query)) == [expected]


def test_title_weighs_more_than_other_fields():
    in_publisher = BookFactory(title="Contes", publisher="Éditions Garonne")
    in_collection = BookFactory(title="Poèmes", publisher="Confluences", collection="Garonne")
    in_author = BookFactory(title="Nouvelles", publisher="Finitude")
    ContributorFactory(book=in_author, name="Jean Garonne")
    in_title = BookFactory(title="Garonne", publisher="Finitude")
    indexed(in_publisher, in_collection, in_author, in_title)
    found = titles(search_books(query="garonne"))
    assert found[0] == "Garonne"
    assert found[1] == "Nouvelles"  # contributors weigh more than publisher and collection
    assert set(found[2:]) == {"Contes", "Poèmes"}


def test_every_word_must_match(catalogue):
    assert titles(search_books(query="Duby Pernoud")) == []
    assert titles(search_books(query="Duby cathédrales")) == ["Le temps des cathédrales"]


def test_last_word_matches_as_a_prefix(catalogue):
    assert titles(search_books(query="Aliénor d'Aqui")) == ["Aliénor d'Aquitaine"]


def test_genre_is_searched_and_filtered(catalogue):
    history = Subject.objects.create(scheme=Subject.Scheme.CLIL, code="3377", name="Histoire médiévale")
    catalogue["cathedrales"].subjects.add(history)
    indexed(catalogue["cathedrales"])
    assert titles(search_books(query="médiévale")) == ["Le temps des cathédrales"]
    indexed(BookFactory(title="Le temps des cerises"))
    assert search_books(query="temps").total == 2
    assert titles(search_books(query="temps", subject=history.pk)) == ["Le temps des cathédrales"]


# --- ISBN -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["9782253004639", "978-2-253-00463-9", "978 2 253 00463 9", "2253004634", "2-253-00463-4", " 2 253 00463 4 "],
)
def test_isbn_in_any_form_finds_the_book(catalogue, query):
    results = search_books(query=query)
    assert results.isbn_book == catalogue["alienor"]
    assert results.total == 1


@pytest.mark.parametrize("query", ["978-2-253-00463-9", "2253004634"])
def test_isbn_query_redirects_to_the_book_page(client, catalogue, query):
    response = client.get(reverse("catalogue:search"), {"q": query})
    assert response.status_code == 302
    assert response["Location"] == f"/books/{ALIENOR_ISBN}/"


def test_unknown_isbn_says_so_and_is_recorded(client, catalogue):
    unknown = make_isbn(424242)
    response = client.get(reverse("catalogue:search"), {"q": unknown})
    assert response.status_code == 200
    assert f"n'a l'ISBN {hyphenate_isbn(unknown)}" in response.content.decode()  # as printed on the book
    assert SearchMiss.objects.filter(query=unknown).exists()


def test_isbn_with_a_wrong_check_digit_is_searched_as_words(client, catalogue):
    response = client.get(reverse("catalogue:search"), {"q": "9782253004630"})
    assert response.status_code == 200


# --- Ranking: stock and nearby shops -------------------------------------------------


def test_books_in_stock_rank_above_books_not_in_stock_all_else_equal():
    absent = BookFactory(title="Bordeaux au fil de l'eau")
    present = BookFactory(title="Bordeaux au fil du temps")
    StockLineFactory(book=present, quantity=2)
    indexed(absent, present)
    assert titles(search_books(query="bordeaux fil")) == ["Bordeaux au fil du temps", "Bordeaux au fil de l'eau"]
    StockLineFactory(book=absent, quantity=1, shop=ShopFactory())
    present.stock_lines.update(quantity=0)
    indexed(absent, present)
    assert titles(search_books(query="bordeaux fil")) == ["Bordeaux au fil de l'eau", "Bordeaux au fil du temps"]


def test_stock_import_refreshes_the_index_of_changed_books(django_capture_on_commit_callbacks):
    shop = ShopFactory()
    book = BookFactory(title="Landes et forêts")
    other = BookFactory(title="Landes d'hier")
    indexed(book, other)
    assert BookSearchDocument.objects.get(book=book).in_stock_shops == 0
    with django_capture_on_commit_callbacks(execute=True):
        stock_import(shop=shop, data=f"EAN;Qté\r\n{book.isbn};4\r\n".encode())
    assert BookSearchDocument.objects.get(book=book).in_stock_shops == 1
    assert titles(search_books(query="landes", in_stock_only=True)) == ["Landes et forêts"]


def test_stock_import_indexes_books_it_creates(django_capture_on_commit_callbacks):
    isbn = make_isbn(777001)
    with django_capture_on_commit_callbacks(execute=True):
        stock_import(
            shop=ShopFactory(), data=f"EAN;Qté;Titre;Auteur\r\n{isbn};2;Le Pays basque;Pierre Loti\r\n".encode()
        )
    assert titles(search_books(query="loti")) == ["Le Pays basque"]


def test_in_stock_only_ignores_copies_all_held_and_inactive_shops():
    held = BookFactory(title="Pyrénées secrètes")
    closed = BookFactory(title="Pyrénées oubliées")
    free = BookFactory(title="Pyrénées vivantes")
    StockLineFactory(book=held, quantity=1, held=1)
    StockLineFactory(book=closed, quantity=1, shop=ShopFactory(is_active=False))
    StockLineFactory(book=free, quantity=1)
    indexed(held, closed, free)
    assert titles(search_books(query="pyrenees", in_stock_only=True)) == ["Pyrénées vivantes"]


def test_out_of_print_only_filter():
    gone = BookFactory(title="Dordogne d'autrefois", availability=Book.Availability.OUT_OF_PRINT)
    BookFactory(title="Dordogne d'aujourd'hui", availability=Book.Availability.AVAILABLE)
    indexed(*Book.objects.all())
    assert titles(search_books(query="dordogne", out_of_print_only=True)) == [gone.title]


@pytest.fixture
def two_shops_books():
    near, far = ShopFactory(name="Près"), ShopFactory(name="Loin")
    at_far = BookFactory(title="Gironde, guide")
    at_near = BookFactory(title="Gironde, carnet")
    nowhere = BookFactory(title="Gironde, atlas")
    StockLineFactory(book=at_far, shop=far, quantity=5)
    StockLineFactory(book=at_near, shop=near, quantity=1)
    indexed(at_far, at_near, nowhere)
    return near, far


def test_books_held_in_nearby_shops_rank_first(two_shops_books):
    near, far = two_shops_books
    assert titles(search_books(query="gironde", boost_shop_ids={near.pk}))[0] == "Gironde, carnet"
    assert titles(search_books(query="gironde", boost_shop_ids={far.pk}))[0] == "Gironde, guide"
    assert titles(search_books(query="gironde", boost_shop_ids=Shop.objects.filter(pk=near.pk)))[0] == "Gironde, carnet"
    # Without location, both stocked books come before the one nobody holds.
    assert titles(search_books(query="gironde"))[-1] == "Gironde, atlas"


def test_only_nearby_shops_filter(two_shops_books):
    near, far = two_shops_books
    assert titles(search_books(query="gironde", only_shop_ids=[near.pk])) == ["Gironde, carnet"]
    assert titles(search_books(query="gironde", only_shop_ids=Shop.objects.filter(pk=far.pk))) == ["Gironde, guide"]
    assert titles(search_books(query="gironde", only_shop_ids=[])) == []


# --- Index maintenance ---------------------------------------------------------------


def test_update_index_only_touches_the_given_books(catalogue):
    catalogue["alienor"].title = "Aliénor, reine"
    catalogue["alienor"].save()
    catalogue["economie"].title = "Économie des bouquinistes"
    catalogue["economie"].save()
    update_index([catalogue["alienor"].pk])
    assert titles(search_books(query="reine")) == ["Aliénor, reine"]
    assert search_books(query="bouquinistes").total == 0  # not refreshed yet
    update_index([catalogue["economie"].pk])
    assert search_books(query="bouquinistes").total == 1


def test_update_index_drops_deleted_books_and_works_in_chunks(catalogue, monkeypatch):
    monkeypatch.setattr("catalogue.search.INDEX_CHUNK", 2)
    more = [BookFactory(title=f"Chronique landaise {n}") for n in range(5)]
    gone_id = catalogue["cathedrales"].pk
    catalogue["cathedrales"].delete()
    assert update_index([gone_id, *(b.pk for b in more)]) == 5
    assert search_books(query="landaise").total == 5
    assert search_books(query="cathedrales").total == 0


def test_vocabulary_is_collected(catalogue):
    assert SearchWord.objects.filter(word__in=["pernoud", "aquitaine", "cathedrales"]).count() == 3


def test_rebuild_search_index_command_rebuilds_everything(catalogue, capsys):
    extra = BookFactory(title="Mémoires du Médoc")  # never indexed
    assert search_books(query="medoc").total == 0
    call_command("rebuild_search_index")
    out = capsys.readouterr().out
    assert "4/4" in out and "100 %" in out
    assert titles(search_books(query="medoc")) == [extra.title]
    assert BookSearchDocument.objects.count() == 4


def test_admin_edit_refreshes_the_index(client, catalogue, django_user_model, django_capture_on_commit_callbacks):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-123456")
    client.force_login(admin)
    book = catalogue["cathedrales"]
    url = reverse("admin:catalogue_book_change", args=[book.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "isbn": book.isbn,
                "title": "Le temps des bastides",
                "publisher": book.publisher,
                "availability": "available",
                "product_form": "print",
                "contributors-TOTAL_FORMS": "0",
                "contributors-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert titles(search_books(query="bastides")) == ["Le temps des bastides"]


# --- Pages -------------------------------------------------------------------------


def test_search_page_shows_results_with_details(client, catalogue):
    alienor = catalogue["alienor"]
    alienor.published_on = datetime.date(1965, 3, 1)
    alienor.cover_url = "https://covers.example/alienor.jpg"
    alienor.save()
    StockLineFactory(book=alienor, quantity=2)
    StockLineFactory(book=alienor, quantity=1)
    indexed(alienor)  # as the imports that wrote these lines would have it
    html = client.get(reverse("catalogue:search"), {"q": "alienor"}).content.decode()
    assert "1 livre trouvé" in html
    assert "Aliénor d&#x27;Aquitaine" in html
    assert "Régine Pernoud" in html and "Le Livre de Poche" in html and "1965" in html
    assert "https://covers.example/alienor.jpg" in html
    assert "En stock dans 2 librairies" in html


def test_search_page_availability_out_of_print_and_absent(client):
    oop = BookFactory(title="Lot-et-Garonne rural", availability=Book.Availability.OUT_OF_PRINT)
    StockLineFactory(book=oop)
    BookFactory(title="Lot-et-Garonne urbain")
    indexed(*Book.objects.all())
    html = client.get(reverse("catalogue:search"), {"q": "garonne"}).content.decode()
    assert "Épuisé chez l'éditeur — disponible en librairie" in html
    assert "Pas en stock dans le réseau pour le moment" in html


def test_search_page_filters(client):
    history = Subject.objects.create(scheme=Subject.Scheme.KEYWORD, code="histoire", name="Histoire")
    stocked = BookFactory(title="Béarn en guerre")
    stocked.subjects.add(history)
    StockLineFactory(book=stocked)
    BookFactory(title="Béarn en paix", availability=Book.Availability.OUT_OF_PRINT)
    indexed(*Book.objects.all())
    url = reverse("catalogue:search")
    assert "Béarn en paix" not in client.get(url, {"q": "bearn", "in_stock": "on"}).content.decode()
    html = client.get(url, {"q": "bearn", "out_of_print": "on"}).content.decode()
    assert "Béarn en paix" in html and "Béarn en guerre" not in html
    html = client.get(url, {"q": "bearn", "genre": history.pk}).content.decode()
    assert "Béarn en guerre" in html and "Béarn en paix" not in html
    # A genre that does not exist is reported, not a crash.
    response = client.get(url, {"q": "bearn", "genre": "999999"})
    assert response.status_code == 200
    assert "Ce genre n'existe pas" in response.content.decode()


def test_pagination_twenty_a_page():
    Book.objects.bulk_create(Book(isbn=make_isbn(500000 + n), title=f"Landes, tome {n}") for n in range(45))
    indexed(*Book.objects.all())
    first = search_books(query="landes")
    assert first.total == 45 and len(first.books) == 20
    last = search_books(query="landes", page=3)
    assert len(last.books) == 5
    seen = {b.pk for p in (1, 2, 3) for b in search_books(query="landes", page=p).books}
    assert len(seen) == 45
    assert len(search_books(query="landes", page="abc").books) == 20  # bad page: the first


def test_pagination_links_on_the_page(client):
    Book.objects.bulk_create(Book(isbn=make_isbn(600000 + n), title=f"Adour, tome {n}") for n in range(25))
    indexed(*Book.objects.all())
    html = client.get(reverse("catalogue:search"), {"q": "adour", "in_stock": ""}).content.decode()
    assert "25 livres trouvés" in html and "Page 1 sur 2" in html and "page=2" in html
    html = client.get(reverse("catalogue:search"), {"q": "adour", "page": "2"}).content.decode()
    assert "Page 2 sur 2" in html and html.count('class="result"') == 5


def test_empty_result_is_kind_and_recorded(client, catalogue):
    response = client.get(reverse("catalogue:search"), {"q": "Xylophage quantique"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nous n'avons rien trouvé pour « Xylophage quantique »" in html
    assert "vérifiez l'orthographe" in html
    assert list(SearchMiss.objects.values_list("query", flat=True)) == ["Xylophage quantique"]


def test_search_miss_keeps_only_a_truncated_query(client, catalogue):
    client.get(reverse("catalogue:search"), {"q": "introuvable " * 30})
    miss = SearchMiss.objects.get()
    assert len(miss.query) <= 200 and miss.query.startswith("introuvable introuvable")


def test_search_misses_are_counted_one_row_per_query(client, catalogue):
    for _ in range(3):
        client.get(reverse("catalogue:search"), {"q": "Xylophage   quantique"})
    client.get(reverse("catalogue:search"), {"q": "Autre chose introuvable"})
    misses = dict(SearchMiss.objects.values_list("query", "count"))
    assert misses == {"Xylophage quantique": 3, "Autre chose introuvable": 1}
    assert SearchMiss.objects.count() == 2


def test_old_search_misses_are_purged_by_the_cron_command(catalogue):
    search_miss_record(query="ancienne")
    search_miss_record(query="récente")
    SearchMiss.objects.filter(query="ancienne").update(last_seen_at=timezone.now() - datetime.timedelta(days=400))
    out = io.StringIO()
    call_command("purge_search_misses", stdout=out)
    assert "oubliées : 1" in out.getvalue()
    assert list(SearchMiss.objects.values_list("query", flat=True)) == ["récente"]


def test_found_searches_are_not_recorded(client, catalogue):
    client.get(reverse("catalogue:search"), {"q": "Pernoud"})
    client.get(reverse("catalogue:search"), {"q": ""})
    assert not SearchMiss.objects.exists()


HOSTILE = [
    "",
    " ",
    "!!!",
    "?,;:…",
    '"',
    '""',
    "'",
    "*",
    "(",
    ")",
    "NEAR",
    "NEAR(",
    "AND OR",
    "OR",
    "NOT",
    "-",
    "^",
    "title:x",
    "a" * 10_000,
    "Aliénor " * 2000,
    "📚",
    "📚 aliénor 🏰",
    "%",
    "%%",
    "_",
    "\\",
    "'; DROP TABLE catalogue_book; --",
    "<script>alert(1)</script>",
    "é" * 300,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_gets_a_normal_page(client, catalogue, query):
    response = client.get(reverse("catalogue:search"), {"q": query})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert Book.objects.count() == 3


@pytest.mark.parametrize("query", ["nul\x00byte", "\x00"])
def test_nul_in_the_query_is_refused_with_400_by_the_middleware(client, catalogue, query):
    response = client.get(reverse("catalogue:search"), {"q": query})
    assert response.status_code == 400 and "nul" in response.content.decode()


def test_hostile_input_still_finds_words_around_it(catalogue):
    assert titles(search_books(query='"aliénor*')) == ["Aliénor d'Aquitaine"]
    assert titles(search_books(query="📚 aliénor 🏰")) == ["Aliénor d'Aquitaine"]
    assert titles(search_books(query="pernoud\x00")) == ["Aliénor d'Aquitaine"]


def test_home_page_has_search_box_network_line_and_books_in_stock(client, catalogue):
    from django.core.cache import cache

    cache.clear()
    StockLineFactory(book=catalogue["alienor"])
    update_index([catalogue["alienor"].pk])
    html = client.get(reverse("catalogue:home")).content.decode()
    assert 'role="search"' in html and 'name="q"' in html
    assert "1 librairie indépendante partage son stock" in html
    assert "Aliénor d&#x27;Aquitaine" in html and "Le temps des cathédrales" not in html


def test_book_page_shows_every_piece_of_metadata(client):
    book = BookFactory(
        isbn=ALIENOR_ISBN,
        title="Aliénor d'Aquitaine",
        subtitle="Une reine",
        publisher="Le Livre de Poche",
        collection="Biographies",
        page_count=352,
        published_on=datetime.date(1983, 10, 5),
        language="fre",
        summary="La vie d'Aliénor.",
    )
    book.subjects.add(Subject.objects.create(scheme=Subject.Scheme.CLIL, code="3377", name="Histoire"))
    ContributorFactory(book=book, name="Régine Pernoud")
    ContributorFactory(book=book, name="Ann Translator", role="translator")
    StockLineFactory(book=book, shop=ShopFactory(name="Librairie Mollat"))
    html = client.get(book.get_absolute_url()).content.decode()
    for label, value in [
        ("Éditeur", "Le Livre de Poche"),
        ("Collection", "Biographies"),
        ("Genre", "Histoire"),
        ("Nombre de pages", "352"),
        ("Traducteur", "Ann Translator"),
        ("Date de parution", "5 octobre 1983"),
        ("Langue", "français"),
        ("ISBN", "978-2-253-00463-9"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html, label
    assert "La vie d&#x27;Aliénor." in html
    assert "Librairie Mollat" in html
    assert ">fre<" not in html


@pytest.mark.parametrize("isbn", ["9782253004630", "not-an-isbn", make_isbn(999999)])
def test_unknown_or_invalid_isbn_is_a_404_page(client, isbn):
    response = client.get(f"/books/{isbn}/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_engine_matches_the_database():
    from catalogue.search import get_engine

    assert get_engine().vendor == connection.vendor


def test_broad_queries_count_and_rank_a_bounded_number_of_matches(client, monkeypatch):
    monkeypatch.setattr("catalogue.search.engine.MAX_RESULTS", 30)
    Book.objects.bulk_create(Book(isbn=make_isbn(700000 + n), title=f"Océan, tome {n}") for n in range(40))
    indexed(*Book.objects.all())
    results = search_books(query="ocean")
    assert results.truncated and results.total == 30
    assert results.page.paginator.num_pages == 2
    html = client.get(reverse("catalogue:search"), {"q": "ocean"}).content.decode()
    assert "Plus de 30 livres trouvés" in html
    assert not search_books(query="ocean tome 7").truncated


def test_result_list_counts_few_shops_live_and_many_from_the_index(monkeypatch):
    from catalogue.search import books_with_availability
    from catalogue.stock.holds import stock_hold

    monkeypatch.setattr("catalogue.search.LIVE_COUNT_MAX", 2)
    few, many = BookFactory(title="Peu"), BookFactory(title="Beaucoup")
    last_copy = StockLineFactory(book=few, quantity=1)
    for _ in range(3):
        StockLineFactory(book=many, quantity=1)
    indexed(few, many)
    stock_hold(stock_line_id=last_copy.pk, quantity=1)  # a reservation took the last copy; no reindex
    counts = {b.title: b.shops_in_stock for b in books_with_availability([few.pk, many.pk])}
    assert counts == {"Peu": 0, "Beaucoup": 3}


@pytest.mark.postgres
def test_postgresql_sessions_do_not_synchronise_scans(db):
    """The capped candidate set of a very common word must be the same from one request to the next."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronize_seqscans")
        assert cursor.fetchone()[0] == "off"
