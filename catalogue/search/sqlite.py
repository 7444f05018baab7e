"""SQLite engine: an FTS5 table (accents removed, prefixes indexed) ranked with weighted bm25.

Typos: a query word of five letters or more that is not in the catalogue's
vocabulary (``SearchWord``) also matches the vocabulary words one edit away
(deletion, insertion, substitution or transposition), looked up by primary key.
Plurals: FTS5 has no French stemmer, so a word also matches its form with or
without a final ``s``/``x``.
"""

import logging

from django.db import OperationalError

from .documents import CLASS_WEIGHTS, FIELD_CLASSES
from .engine import DOC, SearchEngine, Term

logger = logging.getLogger(__name__)

FTS = "catalogue_book_fts"
COLUMNS = ", ".join(FIELD_CLASSES)
#: bm25 weights of the FTS columns, in their order.
WEIGHTS = ", ".join(str(CLASS_WEIGHTS[cls]) for cls in FIELD_CLASSES.values())


def fts_string(word: str) -> str:
    """An FTS5 string literal: user text never reaches MATCH as syntax (wagtail#13227)."""
    return '"' + word.replace('"', '""') + '"'


def plural_forms(word: str) -> list[str]:
    if len(word) < 4 or word.isdigit():
        return []
    if word[-1] in "sx":
        return [word[:-1]]
    return [word + "s"]


class SqliteSearchEngine(SearchEngine):
    vendor = "sqlite"

    def write(self, cursor, documents):
        if not documents:
            return
        from ..models import BookSearchDocument

        ids = [doc.book_id for doc in documents]
        cursor.execute(f"DELETE FROM {FTS} WHERE rowid IN ({', '.join(['%s'] * len(ids))})", ids)
        cursor.executemany(
            f"INSERT INTO {FTS} (rowid, {COLUMNS}) VALUES (%s{', %s' * len(FIELD_CLASSES)})",
            [(doc.book_id, *doc.index_texts()) for doc in documents],
        )
        BookSearchDocument.objects.bulk_create(
            [BookSearchDocument(book_id=doc.book_id, in_stock_shops=doc.in_stock_shops) for doc in documents],
            update_conflicts=True,
            unique_fields=["book"],
            update_fields=["in_stock_shops", "updated_at"],
        )

    def delete(self, cursor, book_ids):
        super().delete(cursor, book_ids)
        cursor.execute(f"DELETE FROM {FTS} WHERE rowid IN ({', '.join(['%s'] * len(book_ids))})", book_ids)

    def clear(self, cursor):
        super().clear(cursor)
        cursor.execute(f"DELETE FROM {FTS}")

    def match_sql(self, terms: list[Term]):
        groups = []
        for term in terms:
            forms = dict.fromkeys([term.word, *plural_forms(term.word), *term.alternatives])
            alternatives = [fts_string(form) for form in forms]
            if term.prefix:
                alternatives.append(fts_string(term.word) + "*")
            groups.append("(" + " OR ".join(alternatives) + ")")
        return (
            f"{FTS} JOIN {DOC} d ON d.book_id = {FTS}.rowid",
            f"{FTS} MATCH %s",
            f"-bm25({FTS}, {WEIGHTS})",
            [" AND ".join(groups)],
        )

    def hits(self, **kwargs):
        try:
            return super().hits(**kwargs)
        except OperationalError:
            logger.exception("FTS5 query failed")
            return []

    def count(self, **kwargs):
        try:
            return super().count(**kwargs)
        except OperationalError:
            logger.exception("FTS5 query failed")
            return 0
