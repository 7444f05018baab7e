from django.http import Http404
from django.shortcuts import redirect, render

from bookshops.location import get_location
from bookshops.selectors import stock_lines_for_book

from .exceptions import InvalidISBN
from .isbn import normalize_isbn
from .models import Book, StockLine


def home(request):
    return render(request, "catalogue/home.html")


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
    # Replaced by the search engine (catalogue/search/).
    return render(request, "catalogue/home.html", {"query": request.GET.get("q", "")})
