"""Workflows on the catalogue's books that are not imports (those live in ``onix/`` and ``stock/``)."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.textfiles import clean_text

from .isbn import hyphenate_isbn, normalize_isbn
from .models import Book

#: Longest title a reader may type for a book the catalogue does not know.
READER_TITLE_MAX_LENGTH = 200


def book_for_reader_isbn(*, isbn: str, title: str = "", now: datetime.datetime | None = None) -> Book:
    """The book of a valid ISBN a reader orders or watches, created when the catalogue has none.

    The row holds the ISBN-13 and the title the reader typed (or the ISBN when they typed none),
    marked as the reader's (``Book.Source.READER``, the weakest source): the first ONIX feed or
    shop file that describes the book overwrites it. An existing book is returned untouched.
    Raises ``InvalidISBN`` for a value that is not an ISBN.
    """
    isbn = normalize_isbn(isbn)
    book = Book.objects.filter(isbn=isbn).first()
    if book is not None:
        return book
    now = now or timezone.now()
    title = clean_text(title or "")[:READER_TITLE_MAX_LENGTH].strip()
    book = Book(
        isbn=isbn,
        title=title or f"ISBN {hyphenate_isbn(isbn)}",
        provenance={"title": {"source": str(Book.Source.READER), "at": now.isoformat()}},
    )
    try:
        with transaction.atomic():
            book.save()
    except IntegrityError:  # another reader, or an import, made it at the same moment
        return Book.objects.get(isbn=isbn)
    return book
