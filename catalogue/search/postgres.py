"""PostgreSQL engine: stored weighted tsvector (GIN), French stemming without accents, trigram typos.

Each field is indexed twice: stemmed (``french_unaccent``) for whole words, and as typed
(``simple``) for the prefix of the word still being typed, so ``haas:*`` is not stemmed
to ``ha:*`` and matches Haas, not every word starting with "ha".

Each document also keeps ``shop_ids`` (migration 0009): the active shops with a
free copy of its book, in step with the stock (``availability_refresh``, called
by every workflow that changes a line's availability or a shop's membership),
so "near me" is one GIN-indexed overlap, ``shop_ids && ARRAY[…]``, and no
stock line is read per match.
"""

from django.db import connection

from ..stock.availability import available_at_sql, available_shops_sql, available_sql
from .documents import CLASS_WEIGHTS, FIELD_CLASSES
from .engine import BOOK, BOOK_SUBJECTS, DOC, LINE, SHOP, WORD, SearchEngine, Term, reading
from .text import COMBINING_MARKS, LIGATURES, MAX_WORD_LENGTH, SQL_SAFE_CHARACTERS

CONFIG = "french_unaccent"
#: ts_rank's weights, in its {D, C, B, A} order, from the one declaration in documents.py.
RANK_WEIGHTS = "{" + ", ".join(str(CLASS_WEIGHTS[c] / CLASS_WEIGHTS["A"]) for c in "DCBA") + "}"
VECTOR_SQL = " || ".join(
    f"setweight(to_tsvector('{config}', v.{name}), '{cls}')"
    for name, cls in FIELD_CLASSES.items()
    for config in (CONFIG, "simple")
)

CONTRIBUTOR = "catalogue_contributor"
SUBJECT = "catalogue_subject"


def index_text_sql(expression: str) -> str:
    """SQL twin of ``documents.index_text`` for a text made of ``SQL_SAFE_CHARACTERS`` (one parameter: the marks)."""
    for ligature, letters in LIGATURES.items():
        expression = f"replace({expression}, '{ligature}', '{letters}')"
    stripped = f"lower(regexp_replace(normalize({expression}, NFKD), %s, '', 'g'))"
    return f"btrim(regexp_replace({stripped}, '[^a-z0-9]+', ' ', 'g'))"


def _bracket(characters: str) -> str:
    """A regular-expression bracket holding these characters (as ranges where they follow each other)."""
    out, codes = [], sorted(map(ord, characters))
    start = previous = codes[0]
    for code in [*codes[1:], None]:
        if code is not None and code == previous + 1:
            previous = code
            continue
        first, last = (chr(c) if chr(c).isalnum() else "\\" + chr(c) for c in (start, previous))
        out.append(first if start == previous else f"{first}-{last}")
        if code is not None:
            start = previous = code
    return "[" + "".join(out) + "]"


SAFE_TEXT = "^" + _bracket(SQL_SAFE_CHARACTERS) + "*$"
MARKS = f"[{COMBINING_MARKS}]"


class PostgresSearchEngine(SearchEngine):
    vendor = "postgresql"

    def write(self, cursor, documents):
        if not documents:
            return
        # One array per column: eight parameters whatever the chunk size, so
        # psycopg parses the statement once instead of once per chunk.
        columns = list(zip(*((doc.book_id, *doc.index_texts(), doc.in_stock_shops) for doc in documents)))
        cursor.execute(
            f"INSERT INTO {DOC} (book_id, vector, in_stock_shops, updated_at) "
            f"SELECT v.id, {VECTOR_SQL}, v.n, now() "
            f"FROM unnest(%s::bigint[], {'%s::text[], ' * len(FIELD_CLASSES)}%s::integer[]) "
            f"AS v(id, {', '.join(FIELD_CLASSES)}, n) "
            "ON CONFLICT (book_id) DO UPDATE SET vector = EXCLUDED.vector, "
            "in_stock_shops = EXCLUDED.in_stock_shops, updated_at = EXCLUDED.updated_at",
            [list(column) for column in columns],
        )

    def write_books(self, cursor, book_ids: list[int]) -> set[int]:
        """Build and write these books' documents and vocabulary in SQL; returns the ids written.

        The same documents as ``documents_build`` + ``write`` (tests/catalogue/test_search_parity.py
        compares them), for the books whose texts hold only ``SQL_SAFE_CHARACTERS``; the caller
        builds the others' (and drops the missing books') in Python.
        """
        # Its cost estimate (a subquery per book) passes jit_above_cost: compiling it took longer than running it.
        cursor.execute("SET LOCAL jit = off")
        stock_sql, stock_params = available_sql(line_table=LINE, shop_table=SHOP, book_column="b.id")
        stock_sql = stock_sql.replace("SELECT 1 ", "SELECT COUNT(l.shop_id) ").replace(" LIMIT 1) IS NOT NULL", ")")
        texts = {
            "title": "b.title",
            "subtitle": "b.subtitle",
            "contributors": (
                f"COALESCE((SELECT string_agg(c.name, ' ; ' ORDER BY c.position, c.id) FROM {CONTRIBUTOR} c "
                "WHERE c.book_id = b.id), '')"
            ),
            "collection": "b.collection",
            "publisher": "b.publisher",
            "subjects": (
                f"COALESCE((SELECT string_agg(s.name, ' ; ' ORDER BY bs.id) FROM {BOOK_SUBJECTS} bs "
                f"JOIN {SUBJECT} s ON s.id = bs.subject_id WHERE bs.book_id = b.id), '')"
            ),
        }
        indexed = ", ".join(f"{index_text_sql('t.' + name)} AS {name}" for name in FIELD_CLASSES)
        every_word = " || ' ' || ".join(f"v.{name}" for name in FIELD_CLASSES)
        cursor.execute(
            f"WITH t AS MATERIALIZED (SELECT b.id, {', '.join(f'{sql} AS {name}' for name, sql in texts.items())}, "
            f"{stock_sql} AS n FROM {BOOK} b WHERE b.id = ANY(%s)), "
            f"v AS MATERIALIZED (SELECT t.id, {indexed}, t.n FROM t "
            f"WHERE ({' || '.join(f't.{name}' for name in FIELD_CLASSES)}) ~ %s), "
            f"vocabulary AS (INSERT INTO {WORD} (word) SELECT DISTINCT w FROM v, "
            f"regexp_split_to_table({every_word}, ' ') AS w WHERE length(w) > 2 AND length(w) <= {MAX_WORD_LENGTH} "
            "ORDER BY 1 ON CONFLICT DO NOTHING) "
            f"INSERT INTO {DOC} (book_id, vector, in_stock_shops, updated_at) "
            f"SELECT v.id, {VECTOR_SQL}, v.n, now() FROM v ORDER BY v.id "
            "ON CONFLICT (book_id) DO UPDATE SET vector = EXCLUDED.vector, "
            "in_stock_shops = EXCLUDED.in_stock_shops, updated_at = EXCLUDED.updated_at RETURNING book_id",
            [*stock_params, list(book_ids), *[MARKS] * len(FIELD_CLASSES), SAFE_TEXT],
        )
        return {book_id for (book_id,) in cursor.fetchall()}

    def availability_refresh(self, cursor, books_sql, params, shop_id=None):
        """Set ``shop_ids`` and ``in_stock_shops`` from the stock, for the documents that differ.

        Those documents are locked first, in book order (two imports touching the
        same books never deadlock), and only then read again: in READ COMMITTED a
        statement that waited for a lock still reads its own, older snapshot, so a
        concurrent change to the same book would otherwise be overwritten. The
        caller changed its lines before, in this transaction, and holds them.
        With ``shop_id`` (only that shop's lines changed) a document differs when
        that shop's place in it does: one line read per book, not all of them.
        """
        shops = available_shops_sql(line_table=LINE, shop_table=SHOP, book_column="d.book_id")
        if shop_id is None:
            differs, differs_params = f"d.shop_ids <> {shops}", []
        else:
            here = available_at_sql(line_table=LINE, shop_table=SHOP, book_column="d.book_id")
            differs, differs_params = f"(%s = ANY(d.shop_ids)) <> {here}", [shop_id, shop_id]
        cursor.execute(
            f"SELECT d.book_id FROM {DOC} d WHERE d.book_id IN ({books_sql}) AND {differs} "
            "ORDER BY d.book_id FOR UPDATE",
            list(params) + differs_params,
        )
        locked = [book_id for (book_id,) in cursor.fetchall()]
        if locked:
            cursor.execute(
                f"UPDATE {DOC} d SET shop_ids = t.ids, in_stock_shops = cardinality(t.ids) "
                f"FROM (SELECT d.book_id, {shops} AS ids FROM {DOC} d WHERE d.book_id = ANY(%s)) t "
                "WHERE d.book_id = t.book_id AND d.shop_ids <> t.ids",
                [locked],
            )

    def shop_availability_refresh(self, shop_id):
        # The books it was counted for, and those it has a free copy of.
        with connection.cursor() as cursor:
            self.availability_refresh(
                cursor,
                f"SELECT book_id FROM {DOC} WHERE shop_ids @> ARRAY[%s]::bigint[] "
                f"UNION SELECT book_id FROM {LINE} WHERE shop_id = %s AND quantity > held",
                [shop_id, shop_id],
                shop_id=shop_id,
            )

    def available_shop_ids(self, book_ids):
        if not book_ids:
            return {}
        with reading().cursor() as cursor:
            cursor.execute(f"SELECT book_id, shop_ids FROM {DOC} WHERE book_id = ANY(%s)", [list(book_ids)])
            return dict(cursor.fetchall())

    def held_in_shops_sql(self, shop_ids):
        if not shop_ids:
            return "1 = 0", []
        return "d.shop_ids && %s::bigint[]", [list(shop_ids)]

    def write_vocabulary(self, cursor, words: set[str]) -> None:
        if words:
            cursor.execute(
                f"INSERT INTO {WORD} (word) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT DO NOTHING",
                [sorted(words)],
            )

    def close_words(self, word):
        """Vocabulary words sharing most trigrams (pg_trgm ``%``, GIN index), about one typo away."""
        with reading().cursor() as cursor:
            cursor.execute(
                f"SELECT word FROM {WORD} WHERE word %% %s AND abs(length(word) - %s) <= 2 "
                "ORDER BY similarity(word, %s) DESC, word LIMIT 3",
                [word, len(word), word],
            )
            return [row[0] for row in cursor.fetchall()]

    def match_sql(self, terms: list[Term]):
        groups, params = [], []
        for term in terms:
            alternatives = []
            for form in [term.word, *term.alternatives]:
                alternatives.append(f"plainto_tsquery('{CONFIG}', %s)")
                params.append(form)
            if term.prefix:
                alternatives.append("to_tsquery('simple', %s)")
                params.append(f"{term.word}:*")
            groups.append("(" + " || ".join(alternatives) + ")")
        tsquery = " && ".join(groups)
        return (
            f"{DOC} d CROSS JOIN (SELECT {tsquery} AS query) q",
            "d.vector @@ q.query",
            f"ts_rank('{RANK_WEIGHTS}', d.vector, q.query)",
            params,
        )
