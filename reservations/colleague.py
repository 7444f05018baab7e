"""Reads for the booksellers' "find it at a colleague's" page: which member shops hold a book, nearest first."""

from dataclasses import dataclass, field

from django.db.models import prefetch_related_objects

from bookshops.geo import distance_km
from bookshops.models import Shop
from bookshops.selectors import attach_open_now
from catalogue.exceptions import InvalidISBN
from catalogue.isbn import normalize_isbn
from catalogue.models import Book, StockLine
from catalogue.search import search_books
from catalogue.stock.selectors import book_lines_queryset

#: Books listed for a title query; the bookseller picks one.
MAX_BOOKS = 20


@dataclass
class ColleagueHoldings:
    """The lines of one book a bookseller at ``origin`` is shown: theirs apart, the others nearest first."""

    book: Book
    origin: Shop
    #: The bookseller's own line, when their shop holds a free copy.
    own_line: StockLine | None = None
    #: Other active shops with a free copy, each with ``distance_km`` (None if unknown) and ``shop_is_open``.
    lines: list[StockLine] = field(default_factory=list)


def colleague_holdings(*, book: Book, origin: Shop, moment=None) -> ColleagueHoldings:
    """Active shops holding a free copy of ``book``, nearest to ``origin`` first (unlocated shops last)."""
    lines = list(book_lines_queryset(book))
    for line in lines:
        line.distance_km = (
            distance_km(origin.latitude, origin.longitude, line.shop.latitude, line.shop.longitude)
            if origin.has_coordinates and line.shop.has_coordinates
            else None
        )
    lines.sort(key=lambda line: (line.distance_km is None, line.distance_km or 0, line.shop.name))
    attach_open_now(lines, moment)
    holdings = ColleagueHoldings(book=book, origin=origin)
    for line in lines:
        if line.shop_id == origin.pk:
            holdings.own_line = line
        else:
            holdings.lines.append(line)
    return holdings


@dataclass
class BookLookup:
    """What a bookseller's query found: one book (an ISBN, or a single title match) or a list to pick from."""

    query: str
    book: Book | None = None
    books: list[Book] = field(default_factory=list)
    #: The query was a valid ISBN the catalogue does not know.
    unknown_isbn: str | None = None


def colleague_book_lookup(*, query: str) -> BookLookup:
    """Read a bookseller's query as an ISBN in any form, or else as words of a title."""
    query = (query or "").strip()
    lookup = BookLookup(query=query)
    if not query:
        return lookup
    try:
        isbn = normalize_isbn(query)
    except InvalidISBN:
        pass
    else:
        lookup.book = Book.objects.filter(isbn=isbn).first()
        if lookup.book is None:
            lookup.unknown_isbn = isbn
        return lookup
    results = search_books(query=query, in_stock_only=True, per_page=MAX_BOOKS)
    lookup.books = results.books
    # Author, publisher and year tell apart editions that share a title.
    prefetch_related_objects(lookup.books, "contributors")
    if len(lookup.books) == 1:
        lookup.book = lookup.books[0]
    return lookup
