"""PostgreSQL builds search documents in SQL (``write_books``): the very documents the Python builder writes.

Each test writes the same books' documents both ways and compares what the
index holds: the stored tsvector, the count of shops with a copy, the
vocabulary; books whose texts SQL cannot normalise as Python does are left to
the Python builder.
"""

import pytest
from django.db import connection

from catalogue.models import BookSearchDocument, SearchWord, Subject
from catalogue.search import update_index
from catalogue.search.documents import documents_build, index_text
from catalogue.search.postgres import MARKS, PostgresSearchEngine, index_text_sql
from catalogue.search.text import SQL_SAFE_CHARACTERS
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StockLineFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TEXTS = [
    "Œuvres complètes d'Aliénor — tome 2023/24 (édition « poche »)",
    "L’Étranger",
    "Cœur de fer ? Straße, Ægir, Æsop & Cie. 1er-2e",
    "São Paulo : crônicas, Dvořák, Škoda, Kraków, Öresund",
    "  espaces\tet\ttabulations   multiples ",
    "K-pop_fan 100% «vrai» n°5 ½ ² ¾ …",
    "Ελληνικά και русский 東京, Łódź, Søren, ﬁn, №5 ™",
    "",
]


def python_documents(book_ids):
    """What the index holds for these books once the Python builder wrote them."""
    engine = PostgresSearchEngine()
    documents = documents_build(book_ids=book_ids)
    with connection.cursor() as cursor:
        engine.write(cursor, documents)
        engine.write_vocabulary(cursor, set().union(*(doc.vocabulary() for doc in documents)))
    return index_content(book_ids)


def sql_documents(book_ids):
    with connection.cursor() as cursor:
        written = PostgresSearchEngine().write_books(cursor, book_ids)
    return written, index_content(book_ids)


def index_content(book_ids):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT book_id, vector::text, in_stock_shops FROM {BookSearchDocument._meta.db_table} "
            "WHERE book_id = ANY(%s) ORDER BY book_id",
            [list(book_ids)],
        )
        documents = cursor.fetchall()
    return documents, set(SearchWord.objects.values_list("word", flat=True))


def clear_index():
    BookSearchDocument.objects.all().delete()
    SearchWord.objects.all().delete()


def test_the_sql_twin_of_index_text_finds_the_same_words_for_every_safe_character():
    samples = [*SQL_SAFE_CHARACTERS, *(f"A{c}{c}b9{c}" for c in SQL_SAFE_CHARACTERS), *TEXTS[:6]]
    samples = [s for s in samples if all(c in SQL_SAFE_CHARACTERS for c in s)]
    assert len(samples) > 900, "the safe characters cover Latin scripts and the usual punctuation"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {index_text_sql('t')} FROM unnest(%s::text[]) WITH ORDINALITY AS s(t, n) ORDER BY n",
            [MARKS, samples],
        )
        found = [row[0] for row in cursor.fetchall()]
    mismatches = [(s, sql, index_text(s)) for s, sql in zip(samples, found) if sql != index_text(s)]
    assert mismatches == []


def test_sql_and_python_builders_write_the_same_documents_and_vocabulary():
    shop, closed = ShopFactory(), ShopFactory(is_active=False)
    poetry, novel = (
        Subject.objects.create(scheme="clil", code="3643", name="Poésie"),
        Subject.objects.create(scheme="clil", code="3435", name="Roman étranger"),
    )
    books = []
    for n, text in enumerate(TEXTS[:6]):
        book = BookFactory(
            title=text or "Sans titre",
            subtitle=TEXTS[(n + 1) % 6],
            collection="Folio Classique" if n % 2 else "",
            publisher=TEXTS[(n + 2) % 6][:200],
        )
        for position, name in enumerate(["Albert Camus", "Marguerite Yourcenar", "Éric-Emmanuel Schmitt"][: n % 4]):
            ContributorFactory(book=book, name=name, position=2 - position)  # order by position, not by id
        book.subjects.add(*[novel, poetry][: n % 3])
        StockLineFactory(book=book, shop=shop, quantity=n % 3, held=1 if n == 4 else 0)
        StockLineFactory(book=book, shop=closed, quantity=5)
        books.append(book)
    ids = [b.pk for b in books]

    expected = python_documents(ids)
    clear_index()
    written, found = sql_documents(ids)

    assert written == set(ids)
    assert found == expected
    documents, vocabulary = found
    assert [n for _id, _vector, n in documents] == [0, 1, 1, 0, 0, 1], "active shops with a copy free"
    assert {"oeuvres", "alienor", "etranger", "yourcenar", "strasse", "dvorak"} <= vocabulary


def test_books_with_other_scripts_are_left_to_the_python_builder_and_indexed_alike():
    latin, greek = BookFactory(title="Les Misérables"), BookFactory(title=TEXTS[6])
    ContributorFactory(book=greek, name="Νίκος Καζαντζάκης")
    with connection.cursor() as cursor:
        written = PostgresSearchEngine().write_books(cursor, [latin.pk, greek.pk])
    assert written == {latin.pk}
    expected = python_documents([latin.pk, greek.pk])

    clear_index()
    assert update_index([latin.pk, greek.pk, 10**9]) == 2, "a missing book is skipped"
    assert index_content([latin.pk, greek.pk]) == expected
    assert {"ελληνικα", "καζαντζακης", "łodz", "søren"} <= expected[1]
