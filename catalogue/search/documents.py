"""What the index holds for a book, built the same way for both engines."""

from dataclasses import dataclass

from django.db.models import Count

from ..models import Book, Contributor, StockLine
from .text import MAX_WORD_LENGTH, words

#: The indexed fields, in the column order of SQLite's FTS5 table (migration 0002), with their weight class.
#: The one declaration both engines read. Contributors outrank the subtitle: readers type an author's
#: name far more often than a subtitle's words, and a common subtitle word must not bury the author's books.
FIELD_CLASSES = {
    "title": "A",
    "subtitle": "C",
    "contributors": "B",
    "collection": "C",
    "publisher": "C",
    "subjects": "D",
}
#: How much a match in each class counts, the same on both databases (PostgreSQL ``ts_rank``'s
#: weights array, scaled to 1; SQLite ``bm25``'s column weights).
CLASS_WEIGHTS = {"A": 10.0, "B": 5.0, "C": 2.0, "D": 1.0}


def index_text(text: str) -> str:
    """What the engines index for a field: the words the query splitter would find, space-separated.

    Both databases then tokenise documents and queries alike (``2023/24`` is two words on both).
    """
    return " ".join(words(text))


@dataclass
class Document:
    book_id: int
    title: str
    subtitle: str
    contributors: str
    collection: str
    publisher: str
    subjects: str
    in_stock_shops: int

    FIELDS = tuple(FIELD_CLASSES)

    def texts(self) -> list[str]:
        return [getattr(self, name) for name in self.FIELDS]

    def index_texts(self) -> list[str]:
        return [index_text(text) for text in self.texts()]

    def vocabulary(self) -> set[str]:
        return {w for text in self.texts() for w in words(text) if 2 < len(w) <= MAX_WORD_LENGTH}


def documents_build(*, book_ids: list[int]) -> list[Document]:
    """Documents of these books (missing ids are skipped), in four queries."""
    books = list(Book.objects.filter(pk__in=book_ids).only("id", "title", "subtitle", "collection", "publisher"))
    contributors: dict[int, list[str]] = {}
    for book_id, name in (
        Contributor.objects.filter(book_id__in=book_ids)
        .order_by("book_id", "position", "pk")
        .values_list("book_id", "name")
    ):
        contributors.setdefault(book_id, []).append(name)
    subjects: dict[int, list[str]] = {}
    for book_id, name in (
        Book.subjects.through.objects.filter(book_id__in=book_ids)
        .order_by("pk")
        .values_list("book_id", "subject__name")
    ):
        subjects.setdefault(book_id, []).append(name)
    in_stock = dict(
        StockLine.objects.filter(book_id__in=book_ids)
        .available()
        .values("book_id")
        .annotate(n=Count("shop_id"))
        .values_list("book_id", "n")
    )
    return [
        Document(
            book_id=book.pk,
            title=book.title,
            subtitle=book.subtitle,
            contributors=" ; ".join(contributors.get(book.pk, [])),
            collection=book.collection,
            publisher=book.publisher,
            subjects=" ; ".join(subjects.get(book.pk, [])),
            in_stock_shops=in_stock.get(book.pk, 0),
        )
        for book in books
    ]
