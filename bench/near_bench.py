"""Benchmark: "the shops within 30 km that hold this book, nearest first".

Builds a separate PostgreSQL database (default ``bench_near``) with 1,000
shops placed on real French towns, BOOKS books and PER_SHOP stock lines per
shop, then times, for random books and random readers standing at a shop's
town:

* ``book_lines_near``: the ORM query (bounding box in SQL on the indexed
  latitude/longitude) then the exact geodesic in Python, nearest first;
* ``book page selector``: ``stock_lines_for_book`` exactly as the book page
  calls it: the above, plus the opening hours of the shops shown, the count
  of shops farther away, or the nearest shops anyway when none is in range;
* ``raw SQL``: one query, bounding box then haversine distance and ordering
  in SQL.

Usage (from the repository root):

    python bench/near_bench.py [--books 100000] [--per-shop 2000] [--runs 500] [--keep]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgres://postgres@127.0.0.1:5432"
RADIUS_KM = 30

RAW_SQL = """
SELECT * FROM (
  SELECT s.id, s.name, sl.quantity - sl.held AS available, sl.price,
         2 * 6371.0088 * asin(sqrt(
           power(sin(radians(s.latitude - %(lat)s) / 2), 2)
           + cos(radians(%(lat)s)) * cos(radians(s.latitude)) * power(sin(radians(s.longitude - %(lon)s) / 2), 2)
         )) AS km
  FROM catalogue_stockline sl JOIN bookshops_shop s ON s.id = sl.shop_id
  WHERE sl.book_id = %(book)s AND sl.quantity > sl.held AND s.is_active
    AND s.latitude BETWEEN %(min_lat)s AND %(max_lat)s AND s.longitude BETWEEN %(min_lon)s AND %(max_lon)s
) near WHERE km <= %(radius)s ORDER BY km
"""


def percentiles(samples_ms):
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1]


def create_database(name):
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def copy_rows(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(name, books, per_shop, shops=1000, seed=42):
    from bookshops.gazetteer import get_gazetteer

    rng = random.Random(seed)
    places = [p for ps in get_gazetteer().by_name.values() for p in ps]
    towns = rng.sample(places, shops)
    now = "2026-11-21 09:00:00+00"
    started = time.monotonic()
    with psycopg.connect(f"{SERVER}/{name}") as conn, conn.cursor() as cur:
        copy_rows(
            cur,
            "bookshops_shop",
            [
                "name",
                "slug",
                "address",
                "postcode",
                "town",
                "department",
                "latitude",
                "longitude",
                "coordinates_source",
                "phone",
                "email",
                "website",
                "siret",
                "description",
                "offers_click_and_collect",
                "offers_postal_delivery",
                "offers_remote_orders",
                "pickup_delay_hours",
                "hold_days",
                "is_active",
                "created_at",
            ],
            (
                (
                    f"Librairie {i}",
                    f"librairie-{i}",
                    "1 place du Marché",
                    t.postcode,
                    t.name,
                    t.department,
                    t.latitude,
                    t.longitude,
                    "geocoder",
                    "",
                    "",
                    "",
                    "",
                    "",
                    True,
                    False,
                    True,
                    2,
                    7,
                    True,
                    now,
                )
                for i, t in enumerate(towns)
            ),
        )
        copy_rows(
            cur,
            "catalogue_book",
            [
                "isbn",
                "title",
                "subtitle",
                "publisher",
                "collection",
                "language",
                "summary",
                "cover_url",
                "availability",
                "provenance",
                "created_at",
                "updated_at",
            ],
            (
                (f"979{n:010d}", f"Livre {n}", "", "Éditeur", "", "fre", "", "", "available", "{}", now, now)
                for n in range(books)
            ),
        )
        cur.execute("SELECT min(id) FROM bookshops_shop")
        first_shop = cur.fetchone()[0]
        cur.execute("SELECT min(id) FROM catalogue_book")
        first_book = cur.fetchone()[0]

        # Book 0 is a bestseller every shop holds; the others are spread at random.
        def lines():
            for shop in range(shops):
                held = {0, *rng.sample(range(1, books), per_shop - 1)}
                for book in held:
                    yield (first_shop + shop, first_book + book, rng.randint(1, 5), 0, "18.50", now)

        copy_rows(
            cur, "catalogue_stockline", ["shop_id", "book_id", "quantity", "held", "price", "changed_at"], lines()
        )
        conn.commit()
    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.monotonic() - started, first_book


def run(name, books, runs, first_book):
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection

    from bookshops.geo import bounding_box
    from bookshops.location import ReaderLocation
    from bookshops.models import Shop
    from catalogue.models import Book
    from catalogue.stock.selectors import book_lines_near, stock_lines_for_book

    rng = random.Random(7)
    readers = list(Shop.objects.values_list("latitude", "longitude"))
    cases = []
    for i in range(runs):
        lat, lon = rng.choice(readers)
        book_id = first_book if i % 10 == 0 else first_book + rng.randrange(1, books)  # 1 in 10: the bestseller
        cases.append((Book(pk=book_id), lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)))

    for book, lat, lon in cases[:20]:  # warm up caches and the connection
        stock_lines_for_book(book, ReaderLocation(lat, lon, "x", RADIUS_KM))
    selector_ms, core_ms, raw_ms, found, disagreements = [], [], [], [], 0
    selector_by_path = {"found within radius": [], "nearest anyway": []}
    raw = connection.connection  # the same psycopg connection Django uses
    for book, lat, lon in cases:
        t = time.perf_counter()
        stock = stock_lines_for_book(book, ReaderLocation(lat, lon, "x", RADIUS_KM))
        selector_ms.append((time.perf_counter() - t) * 1000)
        selector_by_path["nearest anyway" if stock.none_within_radius else "found within radius"].append(
            selector_ms[-1]
        )
        t = time.perf_counter()
        book_lines_near(book, lat, lon, RADIUS_KM)
        core_ms.append((time.perf_counter() - t) * 1000)
        min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, RADIUS_KM)
        params = {
            "lat": lat,
            "lon": lon,
            "book": book.pk,
            "radius": RADIUS_KM,
            "min_lat": min_lat,
            "max_lat": max_lat,
            "min_lon": min_lon,
            "max_lon": max_lon,
        }
        t = time.perf_counter()
        with raw.cursor() as cur:
            cur.execute(RAW_SQL, params)
            rows = cur.fetchall()
        raw_ms.append((time.perf_counter() - t) * 1000)
        in_radius = set() if stock.none_within_radius else {line.shop_id for line in stock}
        # Same shops both ways, but for the odd one at the very edge (haversine vs ellipsoid).
        disagreements += len(in_radius ^ {r[0] for r in rows})
        found.append(len(rows))
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + RAW_SQL, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("SELECT count(*) FROM catalogue_stockline")
        total_lines = cur.fetchone()[0]
    return selector_ms, core_ms, raw_ms, found, plan, total_lines, disagreements, selector_by_path


# --- "Near me only" on the search page ------------------------------------------------------------

BORDEAUX = (44.84, -0.58)
#: Shops that stand within 30 km of Bordeaux, like around the densest city of a national network.
DENSE_SHARE = 0.15
#: Strides that visit every one of 1,000 shops once (coprime with 1,000): a book's holders.
STRIDES = [p for p in range(3, 1000) if all(p % d for d in range(2, int(p**0.5) + 1)) and p not in (5,)]
NEAR_QUERIES = ["histoire", "roman", "voyage", "forêt", "histoire roman", "Aquitiane"]


def _stockline_indexes(cur):
    """The stock line table's indexes and constraints but its primary key: (name, definition, is_constraint)."""
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'catalogue_stockline'::regclass AND contype <> 'p'"
    )
    constraints = [(name, definition, True) for name, definition in cur.fetchall()]
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'catalogue_stockline' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'catalogue_stockline'::regclass)"
    )
    return constraints + [(name, definition, False) for name, definition in cur.fetchall()]


def load_search(books, lines, shops=1000, seed=42):
    """A national network and a catalogue generated in SQL (INSERT … SELECT generate_series), search indexed.

    The stock lines go in with no index nor constraint (dropped, then made again on the full table)
    and no foreign-key trigger; a book's holders are ``lines / (2 · books · √(rank/books))`` shops
    (popular books in hundreds of shops, the tail in a few), 20 % of the lines at quantity 0, like
    ``bench/search.py``. The search documents are written by one statement with the engine's own
    tsvector expression, their ``shop_ids`` by migration 0009's backfill.
    """
    import importlib

    from django.db import connection, transaction
    from search import REAL_WORDS, SYLLABLES  # bench/search.py's vocabulary

    from bookshops.gazetteer import get_gazetteer
    from bookshops.geo import sphere_km
    from bookshops.models import Shop
    from catalogue.models import Book, Contributor
    from catalogue.search.postgres import VECTOR_SQL
    from catalogue.search.text import normalize
    from catalogue.stock.bulk import bulk_insert_rows, insert_select

    rng = random.Random(seed)
    towns = [p for ps in get_gazetteer().by_name.values() for p in ps]
    around = [t for t in towns if sphere_km(*BORDEAUX, t.latitude, t.longitude) < 28]
    dense = int(shops * DENSE_SHARE)
    placed = [rng.choice(around if i < dense else towns) for i in range(shops)]
    rng.shuffle(placed)
    synthetic = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(30_000)})
    rng.shuffle(synthetic)
    vocabulary = list(dict.fromkeys(REAL_WORDS + synthetic))[:20_000]
    n_words = len(vocabulary)
    timings = {}
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")  # no foreign-key trigger while loading
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cur.execute("SET LOCAL work_mem = '256MB'")
        Shop.objects.bulk_create(
            Shop(
                name=f"Librairie {i}",
                slug=f"librairie-{i}",
                address="1 place du Marché",
                postcode=t.postcode,
                town=t.name,
                department=t.department,
                latitude=t.latitude,
                longitude=t.longitude,
            )
            for i, t in enumerate(placed)
        )
        cur.execute("CREATE TEMPORARY TABLE vocab (rank integer PRIMARY KEY, word text, norm text)")
        bulk_insert_rows(
            "vocab", ["rank", "word", "norm"], [(i + 1, w, normalize(w)) for i, w in enumerate(vocabulary)]
        )
        # Zipf-like titles: a word's rank is floor(N ** u), so "histoire" (rank 1) is in about a quarter of them.
        t = time.monotonic()
        cur.execute(
            "CREATE TEMPORARY TABLE gen_book AS SELECT n, "
            f"(SELECT array_agg(LEAST(floor(power({n_words}, random()))::int, {n_words})) "
            "  FROM generate_series(1, 1 + floor(random() * 5)::int + n * 0)) AS words, "
            f"1 + floor(random() * {n_words})::int AS author "
            "FROM generate_series(1, %s) n",
            [books],
        )
        cur.execute("ALTER TABLE gen_book ADD PRIMARY KEY (n)")
        title = "initcap((SELECT string_agg(v.word, ' ') FROM unnest(g.words) r JOIN vocab v ON v.rank = r))"
        now = "2026-12-02T09:00:00+00:00"
        insert_select(
            Book,
            {
                "id": ("g.n", []),
                "isbn": ("'979' || lpad(g.n::text, 10, '0')", []),
                "title": (title, []),
                "publisher": ("'Éditions ' || (g.n %% 400)", []),
                "created_at": ("%s::timestamptz", [now]),
                "updated_at": ("%s::timestamptz", [now]),
            },
            "FROM gen_book g",
        )
        insert_select(
            Contributor,
            {
                "book_id": ("g.n", []),
                "name": ("'Jean ' || initcap(v.word)", []),
                "role": ("%s", [Contributor.Role.AUTHOR]),
            },
            "FROM gen_book g JOIN vocab v ON v.rank = g.author",
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('catalogue_book', 'id'), %s)", [books])
        timings["books"] = time.monotonic() - t

        t = time.monotonic()
        constraints = _stockline_indexes(cur)
        for index_name, _definition, is_constraint in constraints:
            if is_constraint:
                cur.execute(f"ALTER TABLE catalogue_stockline DROP CONSTRAINT {index_name}")
            else:
                cur.execute(f"DROP INDEX {index_name}")
        cur.execute(
            "CREATE TEMPORARY TABLE shop_index AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM bookshops_shop"
        )
        holders = f"LEAST({shops}, GREATEST(1, round({lines} / (2.0 * {books}) * sqrt({books}::float / b.n))))::int"
        cur.execute(
            "INSERT INTO catalogue_stockline (shop_id, book_id, quantity, held, price, changed_at, stock_version) "
            "SELECT s.id, b.n, CASE WHEN random() < 0.2 THEN 0 ELSE 1 + floor(random() * 5)::int END, 0, 12.50, "
            "%s::timestamptz, 0 "
            f"FROM (SELECT n, floor(random() * {shops})::int AS first, "
            f"(%s::int[])[1 + floor(random() * {len(STRIDES)})::int] AS stride FROM generate_series(1, {books}) n) b "
            f"CROSS JOIN LATERAL generate_series(0, {holders} - 1) k "
            f"JOIN shop_index s ON s.i = (b.first + k * b.stride) %% {shops}",
            [now, STRIDES],
        )
        timings["stock lines"] = time.monotonic() - t
        t = time.monotonic()
        for index_name, definition, is_constraint in constraints:
            if is_constraint:
                cur.execute(f"ALTER TABLE catalogue_stockline ADD CONSTRAINT {index_name} {definition}")
            else:
                cur.execute(definition)
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('catalogue_stockline', 'id'), max(id)) FROM catalogue_stockline"
        )
        timings["stock line indexes and constraints"] = time.monotonic() - t

        t = time.monotonic()
        cur.execute("DROP INDEX booksearch_vector_gin")
        cur.execute("DROP INDEX booksearch_shop_ids_gin")
        # The engine's own tsvector expression over the normalised words (``documents.index_text``).
        cur.execute(
            "INSERT INTO catalogue_booksearchdocument (book_id, vector, in_stock_shops, updated_at) "
            f"SELECT v.id, {VECTOR_SQL}, 0, now() FROM ("
            "  SELECT g.n AS id, (SELECT string_agg(w.norm, ' ') FROM unnest(g.words) r JOIN vocab w ON w.rank = r) "
            "  AS title, '' AS subtitle, 'jean ' || a.norm AS contributors, '' AS collection, "
            "  'editions ' || (g.n %% 400) AS publisher, '' AS subjects FROM gen_book g JOIN vocab a ON a.rank = g.author"
            ") v",
            [],
        )
        cur.execute("INSERT INTO catalogue_searchword (word) SELECT DISTINCT norm FROM vocab ON CONFLICT DO NOTHING")
        timings["search documents"] = time.monotonic() - t
        t = time.monotonic()
        cur.execute(importlib.import_module("catalogue.migrations.0009_search_document_shop_ids").BACKFILL)
        timings["shop_ids"] = time.monotonic() - t
        t = time.monotonic()
        cur.execute("CREATE INDEX booksearch_vector_gin ON catalogue_booksearchdocument USING gin (vector)")
        cur.execute("CREATE INDEX booksearch_shop_ids_gin ON catalogue_booksearchdocument USING gin (shop_ids)")
        timings["search indexes"] = time.monotonic() - t
    t = time.monotonic()
    with psycopg.connect(f"{SERVER}/{connection.settings_dict['NAME']}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.monotonic() - t
    return time.monotonic() - started, timings


def run_search(name, repeat):
    """p50/p95 of "near me only" in Bordeaux: the page, the service, and the raw SQL through the array and the join."""
    from django.db import connection
    from django.test import Client

    from bookshops.geo import shop_ids_near
    from catalogue.search import get_engine, search_books
    from catalogue.search.engine import Filters, Term, held_in_shops_sql
    from catalogue.search.text import query_words

    engine = get_engine()
    nearby = shop_ids_near(*BORDEAUX, RADIUS_KM)
    connection.ensure_connection()
    raw = connection.connection

    def raw_sql(terms, held_in):
        """The hits and count statements the service runs, with this "held in these shops" SQL."""
        filters = Filters(only_shop_ids=nearby, boost_shop_ids=nearby)
        from_sql, where_sql, score_sql, match_params = engine.match_sql(terms)
        filter_sql, filter_params = filters.sql(held_in)
        near_sql, near_params = filters.near_sql(held_in)
        where_sql = f"{where_sql} AND {filter_sql}"
        hits = (
            f"SELECT w.book_id FROM (SELECT d.book_id, {near_sql} AS near, ({score_sql}) * "
            "(CASE WHEN d.in_stock_shops > 0 THEN 1.5 ELSE 1 END) AS score "
            f"FROM {from_sql} WHERE {where_sql} LIMIT 1000) w JOIN catalogue_book b ON b.id = w.book_id "
            "ORDER BY w.near DESC, w.score DESC, w.book_id LIMIT 20"
        )
        count = f"SELECT COUNT(*) FROM (SELECT 1 FROM {from_sql} WHERE {where_sql} LIMIT 1001) m"
        return (hits, near_params + match_params + filter_params), (count, match_params + filter_params)

    def run_raw(statements):
        with raw.cursor() as cur:
            out = []
            for sql, params in statements:
                cur.execute(sql, params)
                out.append(cur.fetchall())
            return out

    def timed(fn):
        fn()
        samples = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return percentiles(samples)

    client = Client()
    reader = {"lat": str(BORDEAUX[0]), "lon": str(BORDEAUX[1]), "radius": str(RADIUS_KM), "near_only": "on"}
    rows, plans, disagreements = [], {}, {"count": 0, "first page": 0, "service": 0}
    for query in NEAR_QUERIES:
        words = query_words(query)
        corrections = engine.corrections(words)
        terms = [Term(word=w, alternatives=corrections.get(w, [])) for w in words]
        terms[-1].prefix = len(terms[-1].word) >= 3
        by_array, by_join = raw_sql(terms, engine.held_in_shops_sql), raw_sql(terms, held_in_shops_sql)
        array_result, join_result = run_raw(by_array), run_raw(by_join)
        results = search_books(query=query, boost_shop_ids=nearby, only_shop_ids=nearby)
        # Counts must agree; a first page may not when more than MAX_RESULTS match: each plan ranks the
        # first 1,000 matches it meets, and a sequential scan and a bitmap scan meet different ones.
        disagreements["count"] += array_result[1] != join_result[1]
        disagreements["first page"] += array_result[0] != join_result[0]
        disagreements["service"] += [r[0] for r in array_result[0]] != [b.pk for b in results.books]
        rows.append(
            (
                query,
                results.total,
                timed(lambda: client.get("/search/", {"q": query, **reader})),
                timed(lambda: search_books(query=query, boost_shop_ids=nearby, only_shop_ids=nearby)),
                timed(lambda: run_raw(by_array)),
                timed(lambda: run_raw(by_join)),
            )
        )
        if query == NEAR_QUERIES[0]:
            with raw.cursor() as cur:
                for label, (sql, params) in (("array", by_array[0]), ("join", by_join[0])):
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                    plans[label] = "\n".join(r[0] for r in cur.fetchall())
    with raw.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM catalogue_book), (SELECT count(*) FROM catalogue_stockline)")
        counts = cur.fetchone()
    return nearby, rows, plans, disagreements, counts


def search_main(args):
    from search import PRODUCTION_ENV

    os.environ.update(PRODUCTION_ENV, DATABASE_URL=f"{SERVER}/{args.database}")
    if not args.keep:
        create_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    if not args.keep:
        seconds, timings = load_search(args.books, args.lines)
        print(f"loaded in {seconds:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    nearby, rows, plans, disagreements, (books, lines) = run_search(args.database, args.runs)
    print(
        f"{books:,} books · {lines:,} stock lines · reader in Bordeaux, {len(nearby)} shops within {RADIUS_KM} km · "
        f"{args.runs} runs per query · load average {os.getloadavg()[0]:.2f}"
    )
    print("p50 / p95 in ms; raw = the hits + count statements alone, same run, same connection")
    print(f"{'query':<16} {'hits':>5} | {'page':>13} | {'service':>13} | {'raw array':>13} | {'raw join':>13}")
    for query, total, *timings in rows:
        cells = " | ".join(f"{p50:>5.1f} / {p95:>5.1f}" for p50, p95, _worst in timings)
        print(f"{query:<16} {total:>5} | {cells}")
    print(
        f"queries where the array and the join differ: count {disagreements['count']}, first page "
        f"{disagreements['first page']} (more than 1,000 matches: each plan ranks the first 1,000 it meets); "
        f"where the service's first page differs from the raw array's: {disagreements['service']}"
    )
    for label, plan in plans.items():
        print(f"plan of the hits statement for {NEAR_QUERIES[0]!r}, {label}:\n{plan}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="bench_near")
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--per-shop", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="reuse the database already loaded")
    parser.add_argument("--search", action="store_true", help='the search page "near me only" instead')
    parser.add_argument("--lines", type=int, default=2_000_000, help="stock lines (--search)")
    args = parser.parse_args()
    if args.search:
        return search_main(args)
    first_book = None
    if not args.keep:
        create_database(args.database)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        seconds, first_book = load(args.database, args.books, args.per_shop)
        print(f"loaded in {seconds:.1f} s")
    if first_book is None:
        with psycopg.connect(f"{SERVER}/{args.database}") as conn:
            first_book = conn.execute("SELECT min(id) FROM catalogue_book").fetchone()[0]
    selector_ms, core_ms, raw_ms, found, plan, total_lines, disagreements, by_path = run(
        args.database, args.books, args.runs, first_book
    )
    print(
        f"1,000 shops · {args.books:,} books · {total_lines:,} stock lines · {args.runs} queries · radius {RADIUS_KM} km"
    )
    print(
        f"shops found within {RADIUS_KM} km: median {statistics.median(found)}, max {max(found)}; "
        f"edge disagreements selector/raw: {disagreements}"
    )
    rows = [("book_lines_near (ORM)", core_ms), ("raw SQL", raw_ms), ("book page selector", selector_ms)]
    rows += [(f"  … {path} ({len(samples)})", samples) for path, samples in by_path.items() if samples]
    for label, samples in rows:
        p50, p95, worst = percentiles(samples)
        print(f"{label:34s} p50 {p50:.2f} ms · p95 {p95:.2f} ms · max {worst:.2f} ms")
    print("plan of the last raw query:\n" + plan)


if __name__ == "__main__":
    main()
