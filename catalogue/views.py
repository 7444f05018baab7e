from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render

from bookshops.geo import shop_ids_near
from bookshops.location import get_location
from bookshops.models import Shop
from bookshops.selectors import picks_for_home

from .exceptions import InvalidISBN
from .isbn import normalize_isbn
from .models import Book, BookSearchDocument, StockLine
from .search import books_with_availability, search_books, search_miss_record
from .search.engine import SORT_RELEVANCE
from .search.forms import SearchForm
from .stock.selectors import book_prices, nearest_holdings, stock_lines_for_book

#: Books shown on the home page.
HOME_BOOKS = 6
#: Shops' picks shown on the home page.
HOME_PICKS = 4


def home(request):
    network = cache.get("home:network")
    if network is None:
        network = {
            "shops": Shop.objects.active().count(),
            "books": BookSearchDocument.objects.filter(in_stock_shops__gt=0).count(),
        }
        cache.set("home:network", network, 600)
    recent = StockLine.objects.available().order_by("-changed_at").values_list("book_id", flat=True)[: HOME_BOOKS * 5]
    book_ids = list(dict.fromkeys(recent))[:HOME_BOOKS]
    location = get_location(request)
    books = books_with_availability(book_ids)
    _attach_prices(books)
    context = {
        "network": network,
        "books": books,
        "picks": picks_for_home(location, HOME_PICKS),
        "location": location,
    }
    return render(request, "catalogue/home.html", context)


def book_detail(request, isbn):
    try:
        isbn13 = normalize_isbn(isbn)
    except InvalidISBN:
        raise Http404("invalid ISBN") from None
    if isbn13 != isbn:
        return redirect("catalogue:book", isbn=isbn13, permanent=True)
    try:
        book = Book.objects.prefetch_related("contributors", "subjects").get(isbn=isbn13)
    except Book.DoesNotExist:
        raise Http404("unknown ISBN") from None
    stock_lines = stock_lines_for_book(book, get_location(request))
    return render(request, "catalogue/book_detail.html", {"book": book, "stock_lines": stock_lines})


def search(request):
    form = SearchForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    query = data.get("q", "")
    location = get_location(request)
    nearby = shop_ids_near(location.lat, location.lon, location.radius_km) if location else None
    shop = Shop.objects.active().filter(slug=data["shop"]).first() if data.get("shop") else None
    if shop is not None:
        only = [shop.pk]
    elif location and data.get("near_only"):
        only = nearby
    else:
        only = None
    results = search_books(
        query=query,
        in_stock_only=bool(data.get("in_stock")),
        out_of_print_only=bool(data.get("out_of_print")),
        subject=data.get("genre"),
        boost_shop_ids=nearby,
        only_shop_ids=only,
        page=data.get("page") or 1,
        sort=data.get("sort") or SORT_RELEVANCE,
    )
    if results.isbn_book is not None:
        return redirect(results.isbn_book)
    if results.total == 0 and not results.is_empty_query and (data.get("page") or 1) == 1:
        search_miss_record(query=query)
    _attach_prices(results.books)
    if location:
        kept = {book.pk: book.available_shop_ids for book in results.books}
        holders = None if None in kept.values() else kept
        holdings = nearest_holdings(list(kept), location, shop_ids=nearby, holders=holders)
        for book in results.books:
            book.nearby = holdings.get(book.pk)
    context = {"form": form, "query": query, "results": results, "location": location, "shop": shop}
    return render(request, "catalogue/search.html", context)


def _attach_prices(books) -> None:
    prices = book_prices(book_ids=[book.pk for book in books])
    for book in books:
        book.price = prices.get(book.pk)
