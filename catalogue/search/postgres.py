"""PostgreSQL engine: stored weighted tsvector (GIN), French stemming without accents, trigram typos."""

from .engine import DOC, WORD, SearchEngine, Term, reading

CONFIG = "french_unaccent"


class PostgresSearchEngine(SearchEngine):
    vendor = "postgresql"

    def write(self, cursor, documents):
        if not documents:
            return
        # One array per column: eight parameters whatever the chunk size, so
        # psycopg parses the statement once instead of once per chunk.
        columns = list(zip(*((doc.book_id, *doc.texts(), doc.in_stock_shops) for doc in documents)))
        cursor.execute(
            f"INSERT INTO {DOC} (book_id, vector, in_stock_shops, updated_at) "
            f"SELECT v.id, "
            f"setweight(to_tsvector('{CONFIG}', v.title), 'A') || "
            f"setweight(to_tsvector('{CONFIG}', v.subtitle || ' ' || v.contributors), 'B') || "
            f"setweight(to_tsvector('{CONFIG}', v.collection || ' ' || v.publisher), 'C') || "
            f"setweight(to_tsvector('{CONFIG}', v.subjects), 'D'), v.n, now() "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::integer[]) AS v(id, title, subtitle, contributors, collection, publisher, subjects, n) "
            "ON CONFLICT (book_id) DO UPDATE SET vector = EXCLUDED.vector, "
            "in_stock_shops = EXCLUDED.in_stock_shops, updated_at = EXCLUDED.updated_at",
            [list(column) for column in columns],
        )

    def write_vocabulary(self, cursor, words: set[str]) -> None:
        if words:
            cursor.execute(
                f"INSERT INTO {WORD} (word) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT DO NOTHING", [sorted(words)]
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
                alternatives.append(f"to_tsquery('{CONFIG}', %s)")
                params.append(f"{term.word}:*")
            groups.append("(" + " || ".join(alternatives) + ")")
        tsquery = " && ".join(groups)
        return (
            f"{DOC} d CROSS JOIN (SELECT {tsquery} AS query) q",
            "d.vector @@ q.query",
            "ts_rank(d.vector, q.query)",
            params,
        )
