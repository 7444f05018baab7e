"""Full-text search over the shared catalogue, on PostgreSQL or SQLite.

One interface (``search_books``, ``update_index``, ``search_index_rebuild``);
the engine is chosen from ``connection.vendor``: ``postgres.py`` (stored
tsvector, French stemming, trigram typo correction) or ``sqlite.py`` (FTS5).
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from ..exceptions import InvalidISBN
from ..isbn import normalize_isbn
from ..models import Book, SearchMiss, StockLine
from . import engine as _engine
from .documents import documents_build
from .engine import Filters, SearchEngine, Term
from .text import MAX_QUERY_LENGTH, query_words

#: Books per chunk when refreshing the index.
INDEX_CHUNK = 1000
PER_PAGE = 20


def get_engine() -> SearchEngine:
    """The engine for the database in use."""
    if connection.vendor == "postgresql":
        from .postgres import PostgresSearchEngine

        return PostgresSearchEngine()
    if connection.vendor == "sqlite":
        from .sqlite import SqliteSearchEngine

        return SqliteSearchEngine()
    raise NotImplementedError(f"no search engine for {connection.vendor}")


# --- Index ----------------------------------------------------------------------


def update_index(book_ids: Iterable[int]) -> int:
    """Refresh the search documents of these books, in chunks; returns how many were written."""
    ids = sorted({int(pk) for pk in book_ids if pk is not None})
    engine = get_engine()
    written = 0
    for start in range(0, len(ids), INDEX_CHUNK):
        written += _index_chunk(engine, ids[start : start + INDEX_CHUNK])
    return written


def _index_chunk(engine: SearchEngine, ids: list[int]) -> int:
    """Write these books' documents: in SQL where the engine can (``write_books``), the rest built in Python."""
    with transaction.atomic(), connection.cursor() as cursor:
        written = engine.write_books(cursor, ids)
        rest = [pk for pk in ids if pk not in written]
        documents = documents_build(book_ids=rest) if rest else []
        gone = sorted(set(rest) - {doc.book_id for doc in documents})
        engine.write(cursor, documents)
        engine.availability_refresh(cursor, "SELECT unnest(%s::bigint[])", [ids])
        if gone:
            engine.delete(cursor, gone)
        engine.write_vocabulary(cursor, set().union(*(doc.vocabulary() for doc in documents)))
    return len(written) + len(documents)


def availability_refresh(
    *, book_ids: Iterable[int] = (), books_sql: str = "", params=(), shop_id: int | None = None
) -> None:
    """Bring the search documents of these books in step with their stock now, in the caller's transaction.

    Call it after changing stock lines (or a shop's membership), with the books
    as ids or as a ``SELECT`` of book ids (``books_sql`` and its ``params``: an
    import's thousands of books in one statement), and ``shop_id`` when only that
    shop's lines changed (cheaper to compare). On PostgreSQL it writes the
    documents' ``shop_ids`` and ``in_stock_shops`` (only those that change);
    SQLite's filters read the stock lines and its count waits for a refresh.
    """
    if not books_sql:
        ids = sorted({int(pk) for pk in book_ids})
        if not ids:
            return
        books_sql, params = "SELECT unnest(%s::bigint[])", [ids]
    engine = get_engine()
    with connection.cursor() as cursor:
        engine.availability_refresh(cursor, books_sql, list(params), shop_id=shop_id)


def shop_availability_refresh(*, shop_id: int) -> None:
    """The search documents follow a shop joining or leaving the network (``is_active``): its copies count or not."""
    get_engine().shop_availability_refresh(shop_id)


def search_index_rebuild(*, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild every book's search document, reporting ``progress(done, total)`` after each chunk."""
    engine = get_engine()
    with transaction.atomic(), connection.cursor() as cursor:
        engine.clear(cursor)
    total = Book.objects.count()
    done = 0
    last_id = 0
    while True:
        ids = list(Book.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:INDEX_CHUNK])
        if not ids:
            break
        _index_chunk(engine, ids)
        done += len(ids)
        last_id = ids[-1]
        if progress:
            progress(done, total)
    return done


# --- Queries --------------------------------------------------------------------


@dataclass
class SearchResults:
    """One page of results: the books (with ``shops_in_stock``), the paginator page and how the query was read."""

    query: str
    words: list[str]
    page: Page | None = None
    books: list[Book] = field(default_factory=list)
    #: Set when the query is the ISBN of a catalogue book.
    isbn_book: Book | None = None
    #: Set when the query is a valid ISBN (found or not).
    isbn: str | None = None
    #: Why a query typed as an ISBN (10 or 13 digits) is not one: a wrong check digit, a 13-digit code not 978/979.
    isbn_problem: str = ""
    #: {typed word: [vocabulary words also searched]}
    corrections: dict[str, list[str]] = field(default_factory=dict)
    #: More books matched than are counted and ranked (``engine.MAX_RESULTS``).
    truncated: bool = False

    @property
    def total(self) -> int:
        if self.isbn_book is not None:
            return 1
        return self.page.paginator.count if self.page is not None else 0

    @property
    def is_empty_query(self) -> bool:
        return not self.words and self.isbn is None


class _Hits:
    """A lazy sequence for ``Paginator``: counts and slices through the engine."""

    def __init__(self, engine: SearchEngine, terms: list[Term], filters: Filters, sort: str = _engine.SORT_RELEVANCE):
        self.engine, self.terms, self.filters, self.sort = engine, terms, filters, sort
        self.truncated = False

    def count(self) -> int:
        found = self.engine.count(terms=self.terms, filters=self.filters)
        self.truncated = found > _engine.MAX_RESULTS
        return min(found, _engine.MAX_RESULTS)

    def __getitem__(self, item: slice) -> list[int]:
        if item.stop <= item.start:
            return []
        return self.engine.hits(
            terms=self.terms, filters=self.filters, limit=item.stop - item.start, offset=item.start, sort=self.sort
        )


#: Up to this many shops, the result list counts them live (a hold may just have
#: taken the last copy); above, the count stored at indexing time is shown.
LIVE_COUNT_MAX = 5


def books_with_availability(book_ids: list[int]) -> list[Book]:
    """These books in this order, with contributors, ``shops_in_stock`` (active shops with a copy free)
    and ``available_shop_ids`` (those shops, or None where only the stock lines tell)."""
    books = (
        Book.objects.filter(pk__in=book_ids)
        .defer("summary", "provenance")
        .select_related("search_document")
        .prefetch_related("contributors")
    )
    by_id = {book.pk: book for book in books}
    stored = {
        pk: (book.search_document.in_stock_shops if hasattr(book, "search_document") else 0)
        for pk, book in by_id.items()
    }
    holders = get_engine().available_shop_ids(list(by_id))
    for pk, book in by_id.items():
        #: The shops with a free copy, from the document (PostgreSQL), or None: read the stock lines.
        book.available_shop_ids = None if holders is None else holders.get(pk, [])
    # Counting every line of a book held in hundreds of shops costs more than the search itself;
    # where the documents follow the stock (``availability_refresh``), the stored count is live.
    recount = [] if holders is not None else [pk for pk, n in stored.items() if n <= LIVE_COUNT_MAX]
    live = dict(
        StockLine.objects.filter(book_id__in=recount)
        .available()
        .values("book_id")
        .annotate(n=Count("shop_id"))
        .values_list("book_id", "n")
    )
    for pk, book in by_id.items():
        book.shops_in_stock = live.get(pk, 0) if pk in recount else stored[pk]
    return [by_id[pk] for pk in book_ids if pk in by_id]


def _shop_ids(shops) -> list[int] | None:
    if shops is None:
        return None
    if hasattr(shops, "values_list") and getattr(shops, "model", None) is not None:
        from bookshops.models import Shop

        if shops.model is Shop:
            shops = shops.values_list("pk", flat=True)
    return sorted({int(pk) for pk in shops})


def search_books(
    *,
    query: str,
    in_stock_only: bool = False,
    out_of_print_only: bool = False,
    subject: int | None = None,
    boost_shop_ids=None,
    only_shop_ids=None,
    page: int | str = 1,
    per_page: int = PER_PAGE,
    sort: str = _engine.SORT_RELEVANCE,
) -> SearchResults:
    """Search the catalogue for a reader's query, best first, one page at a time.

    ``boost_shop_ids`` (ids or a Shop queryset, e.g. the shops near the reader)
    puts books available there first; ``only_shop_ids`` keeps only those books.
    ``sort`` is one of ``engine.SORTS`` (relevance, title, newest first).
    """
    query = (query or "").replace("\x00", "")[:MAX_QUERY_LENGTH].strip()
    results = SearchResults(query=query, words=[])
    try:
        results.isbn = normalize_isbn(query)
    except InvalidISBN as error:
        if error.reason in ("checksum", "prefix"):
            results.isbn_problem = str(error.message)
    else:
        results.isbn_book = Book.objects.filter(isbn=results.isbn).first()
        if results.isbn_book is not None:
            results.books = books_with_availability([results.isbn_book.pk])
        results.page = Paginator([], per_page).get_page(1)
        return results

    results.words = query_words(query)
    if not results.words:
        return results
    engine = get_engine()
    results.corrections = engine.corrections(results.words)
    terms = [Term(word=w, alternatives=results.corrections.get(w, [])) for w in results.words]
    # The last word may still be being typed.
    terms[-1].prefix = len(terms[-1].word) >= 3
    filters = Filters(
        in_stock_only=in_stock_only,
        out_of_print_only=out_of_print_only,
        subject_id=subject,
        only_shop_ids=_shop_ids(only_shop_ids),
        boost_shop_ids=_shop_ids(boost_shop_ids),
    )
    hits = _Hits(engine, terms, filters, sort)
    results.page = Paginator(hits, per_page).get_page(page)
    results.truncated = hits.truncated
    results.books = books_with_availability(list(results.page.object_list))
    return results


def search_miss_record(*, query: str) -> None:
    """Count a search that found nothing for the association's figures (the query only, one row each)."""
    query = " ".join(query.replace("\x00", "").split())[: SearchMiss._meta.get_field("query").max_length]
    now = timezone.now()
    seen = {"count": F("count") + 1, "last_seen_at": now}
    if SearchMiss.objects.filter(query=query).update(**seen):
        return
    try:
        with transaction.atomic():
            SearchMiss.objects.create(query=query, last_seen_at=now)
    except IntegrityError:  # another request recorded it first
        SearchMiss.objects.filter(query=query).update(**seen)


def search_misses_purge(*, days: int) -> int:
    """Forget the searches not made again for ``days`` days; returns how many."""
    before = timezone.now() - datetime.timedelta(days=days)
    return SearchMiss.objects.filter(last_seen_at__lt=before).delete()[0]
