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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="bench_near")
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--per-shop", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="reuse the database already loaded")
    args = parser.parse_args()
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
