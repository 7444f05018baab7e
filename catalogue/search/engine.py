"""The interface both engines implement, and the SQL they share (filters, boosts, paging)."""

from dataclasses import dataclass, field

from django.db import connections, router

from bookshops.models import Shop

from ..models import Book, BookSearchDocument, SearchWord, StockLine
from ..stock.availability import available_sql
from .documents import Document
from .text import MIN_TYPO_LENGTH, edits1

DOC = BookSearchDocument._meta.db_table
LINE = StockLine._meta.db_table
SHOP = Shop._meta.db_table
BOOK = Book._meta.db_table
BOOK_SUBJECTS = Book.subjects.through._meta.db_table
WORD = SearchWord._meta.db_table

#: Score multiplier of a book some shop has in stock, all else equal.
IN_STOCK_BOOST = 1.5
#: Most matches counted and ranked. A broader query ("histoire" matches a
#: third of a catalogue) ranks the first ones the index yields: ranking every
#: match would read every matching document, hundreds of milliseconds.
MAX_RESULTS = 1000


SORT_RELEVANCE, SORT_TITLE, SORT_DATE = "pertinence", "titre", "date"
#: ORDER BY of each sort, over the matches ``w`` (near, score) and their books ``b``; the
#: sorts other than relevance reorder the same ``MAX_RESULTS`` first matches.
SORTS = {
    SORT_RELEVANCE: "w.near DESC, w.score DESC, w.book_id",
    SORT_TITLE: "LOWER(b.title), w.book_id",
    SORT_DATE: "CASE WHEN b.published_on IS NULL THEN 1 ELSE 0 END, b.published_on DESC, w.book_id",
}


@dataclass
class Term:
    """One word of the query and the forms that also count as a match."""

    word: str
    alternatives: list[str] = field(default_factory=list)
    #: The last word may be unfinished: match it as a prefix too.
    prefix: bool = False


@dataclass
class Filters:
    in_stock_only: bool = False
    out_of_print_only: bool = False
    subject_id: int | None = None
    only_shop_ids: list[int] | None = None
    boost_shop_ids: list[int] | None = None

    def sql(self, held_in) -> tuple[str, list]:
        """WHERE clauses on the document alias ``d``, ANDed, with their parameters.

        ``held_in(shop_ids)`` gives the SQL of "available in one of these shops" (the engine's).
        """
        clauses, params = [], []
        if self.in_stock_only:
            # The stored count prunes fast; the live check ignores copies held since.
            sql, available_params = available_sql(line_table=LINE, shop_table=SHOP, book_column="d.book_id")
            clauses.append(f"d.in_stock_shops > 0 AND {sql}")
            params += available_params
        if self.out_of_print_only:
            clauses.append(f"EXISTS (SELECT 1 FROM {BOOK} b WHERE b.id = d.book_id AND b.availability = %s)")
            params.append(Book.Availability.OUT_OF_PRINT)
        if self.subject_id is not None:
            clauses.append(
                f"EXISTS (SELECT 1 FROM {BOOK_SUBJECTS} bs WHERE bs.book_id = d.book_id AND bs.subject_id = %s)"
            )
            params.append(self.subject_id)
        if self.only_shop_ids is not None:
            sql, shop_params = held_in(self.only_shop_ids)
            clauses.append(sql)
            params += shop_params
        return " AND ".join(f"({c})" for c in clauses), params

    def near_sql(self, held_in) -> tuple[str, list]:
        """A 1/0 column: the book is available in one of the boosted shops."""
        if not self.boost_shop_ids:
            return "0", []
        if self.only_shop_ids is not None and set(self.only_shop_ids) <= set(self.boost_shop_ids):
            return "1", []  # "near me only": every match is held in a boosted shop
        sql, params = held_in(self.boost_shop_ids)
        return f"CASE WHEN {sql} THEN 1 ELSE 0 END", params


def held_in_shops_sql(shop_ids: list[int]) -> tuple[str, list]:
    """True when the book ``d.book_id`` has a free copy in one of these shops, read from its stock lines."""
    return available_sql(line_table=LINE, shop_table=SHOP, book_column="d.book_id", shop_ids=shop_ids)


def reading():
    """The connection searches read from: the replica, when the router sends reader pages there."""
    return connections[router.db_for_read(BookSearchDocument)]


class SearchEngine:
    """Full-text search over ``BookSearchDocument``; subclasses speak one database's dialect."""

    vendor = ""

    # --- index ---------------------------------------------------------------
    def write(self, cursor, documents: list[Document]) -> None:
        raise NotImplementedError

    def write_books(self, cursor, book_ids: list[int]) -> set[int]:
        """Build and write, in SQL, the documents of those books it can; returns their ids (none here)."""
        return set()

    def delete(self, cursor, book_ids: list[int]) -> None:
        cursor.execute(f"DELETE FROM {DOC} WHERE book_id IN ({', '.join(['%s'] * len(book_ids))})", book_ids)

    def clear(self, cursor) -> None:
        cursor.execute(f"DELETE FROM {DOC}")

    def availability_refresh(self, cursor, books_sql: str, params: list, shop_id: int | None = None) -> None:
        """Bring the documents of the books ``books_sql`` selects in step with their stock, in the caller's
        transaction. Nothing here: the stored count waits for the next refresh, the filters read the stock."""

    def shop_availability_refresh(self, shop_id: int) -> None:
        """The documents of the books a shop holds follow its membership; nothing here (see above)."""

    def available_shop_ids(self, book_ids: list[int]) -> dict[int, list[int]] | None:
        """{book id: active shops with a free copy} from the documents, or None when they do not keep it."""
        return None

    def held_in_shops_sql(self, shop_ids: list[int]) -> tuple[str, list]:
        """SQL true when the document ``d``'s book has a free copy in one of these shops, and its parameters."""
        return held_in_shops_sql(shop_ids)

    def write_vocabulary(self, cursor, words: set[str]) -> None:
        ordered = sorted(words)
        for start in range(0, len(ordered), 500):
            batch = ordered[start : start + 500]
            cursor.execute(
                f"INSERT INTO {WORD} (word) VALUES {', '.join(['(%s)'] * len(batch))} ON CONFLICT DO NOTHING", batch
            )

    # --- query ---------------------------------------------------------------
    def known_words(self, words: list[str]) -> set[str]:
        if not words:
            return set()
        placeholders = ", ".join(["%s"] * len(words))
        with reading().cursor() as cursor:
            cursor.execute(f"SELECT word FROM {WORD} WHERE word IN ({placeholders})", list(words))
            return {row[0] for row in cursor.fetchall()}

    def corrections(self, words: list[str]) -> dict[str, list[str]]:
        """For each word absent from the catalogue's vocabulary, the close words that are in it."""
        candidates = [w for w in words if len(w) >= MIN_TYPO_LENGTH and not w.isdigit()]
        known = self.known_words(candidates)
        unknown = [w for w in candidates if w not in known]
        return {w: found for w in unknown if (found := self.close_words(w))}

    def close_words(self, word: str) -> list[str]:
        """Vocabulary words one edit away (a letter missing, extra, wrong or swapped)."""
        return sorted(self.known_words(sorted(edits1(word))))[:3]

    def match_sql(self, terms: list[Term]) -> tuple[str, str, str, list]:
        """(FROM clause giving alias ``d``, WHERE clause, score expression where higher is better, params)."""
        raise NotImplementedError

    def _query(self, terms: list[Term], filters: Filters) -> tuple[str, str, str, list, list]:
        from_sql, where_sql, score_sql, params = self.match_sql(terms)
        filter_sql, filter_params = filters.sql(self.held_in_shops_sql)
        if filter_sql:
            where_sql = f"{where_sql} AND {filter_sql}"
        return from_sql, where_sql, score_sql, params, filter_params

    def hits(
        self, *, terms: list[Term], filters: Filters, limit: int, offset: int, sort: str = SORT_RELEVANCE
    ) -> list[int]:
        """Ids of the matching books, best first (or by title, or newest first: ``sort``)."""
        from_sql, where_sql, score_sql, match_params, filter_params = self._query(terms, filters)
        near_sql, near_params = filters.near_sql(self.held_in_shops_sql)
        sql = (
            "SELECT w.book_id FROM ("
            f"SELECT d.book_id, {near_sql} AS near, "
            f"({score_sql}) * (CASE WHEN d.in_stock_shops > 0 THEN {IN_STOCK_BOOST} ELSE 1 END) AS score "
            f"FROM {from_sql} WHERE {where_sql} LIMIT %s"
            f") w JOIN {BOOK} b ON b.id = w.book_id ORDER BY {SORTS.get(sort, SORTS[SORT_RELEVANCE])} "
            "LIMIT %s OFFSET %s"
        )
        params = near_params + match_params + filter_params + [MAX_RESULTS, limit, offset]
        with reading().cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def count(self, *, terms: list[Term], filters: Filters) -> int:
        """How many books match, counting no further than ``MAX_RESULTS + 1``."""
        from_sql, where_sql, _score_sql, match_params, filter_params = self._query(terms, filters)
        with reading().cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM {from_sql} WHERE {where_sql} LIMIT %s) m",
                match_params + filter_params + [MAX_RESULTS + 1],
            )
            return cursor.fetchone()[0]
