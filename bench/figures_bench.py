"""Benchmark: the figures page on a year of national-scale activity.

Builds a separate PostgreSQL database (default ``h_figures_bench``) with 1,000 shops, BOOKS books,
PER_SHOP stock lines per shop, a weekly stock snapshot per shop, 1,000,000 reservations over the
last year (December peak, busy and quiet shops, bestsellers and a long tail, every outcome,
5 % sent by a colleague) and 200,000 searches without result, all in bulk SQL (COPY and
INSERT … SELECT generate_series), not through the services. Then, in the same run:

* ``figures_refresh``: the full rebuild of the summary tables (what the schedule runs, in the background);
* the page ``/admin/figures/`` as the association and as one shop's bookseller, and one CSV;
* the heaviest SQL statement of the association's page, printed with its time;
* the raw limit beside it: the same monthly outcome counts computed straight from the 1,000,000
  reservations (what the page would cost without the summary tables), and a bare count(*).

Usage (from the repository root; keep runs short, the machine is shared):

    python bench/figures_bench.py [--reservations 1000000] [--runs 5] [--keep]
"""

import argparse
import datetime
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
SEASON = [0.7, 0.6, 0.7, 0.7, 0.8, 0.8, 0.6, 0.45, 0.9, 0.9, 1.1, 2.2]  # January first

RESERVATIONS_SQL = """
INSERT INTO reservations_reservation (reference, shop_id, book_id, quantity, reader_name, reader_email, reader_phone,
    note, language, status, created_at, updated_at, confirmed_at, closed_at, confirm_by, remind_at, pickup_deadline,
    cancel_reason, referred_by_shop_id)
SELECT lpad(to_hex(%(offset)s + i), 8, '0'), %(shop0)s + floor(power(r_shop, 1.6) * %(shops)s)::int,
       %(book0)s + floor(power(r_book, 3) * %(books)s)::int, 1, 'Lecteur', 'r' || (%(offset)s + i) || '@example.org', '',
       '', 'fr',
       CASE WHEN r < 0.70 THEN 'collected' WHEN r < 0.85 THEN 'expired' WHEN r < 0.90 THEN 'cancelled'
            WHEN r < 0.95 THEN 'redirected' ELSE 'requested' END,
       created, created,
       CASE WHEN r < 0.70 OR (r >= 0.78 AND r < 0.85) THEN created + power(r2, 2) * interval '48 hours' END,
       CASE WHEN r < 0.70 THEN created + power(r2, 2) * interval '48 hours' + r3 * interval '6 days'
            WHEN r < 0.95 THEN created + interval '3 days' END,
       created + interval '2 days', created + interval '1 day', NULL, '',
       CASE WHEN r4 < 0.05 THEN %(shop0)s + floor(r3 * %(shops)s)::int END
FROM (SELECT i, random() r, random() r2, random() r3, random() r4, random() r_shop, random() r_book,
             %(start)s::timestamptz + random() * (%(end)s::timestamptz - %(start)s::timestamptz) created
      FROM generate_series(1, %(count)s) i) g
"""

ORDERS_SQL = """
INSERT INTO orders_order (reference, shop_id, book_id, quantity, reader_name, reader_email, reader_phone, note,
    language, status, created_at, updated_at, email_confirmed_at, accepted_at, arrived_at, closed_at, reason)
SELECT 'o' || lpad(to_hex(i), 7, '0'), %(shop0)s + floor(power(r_shop, 1.6) * %(shops)s)::int,
       %(book0)s + floor(power(r_book, 2) * %(books)s)::int, 1, 'Lecteur', 'o' || i || '@example.org', '', '', 'fr',
       CASE WHEN r < 0.55 THEN 'collected' WHEN r < 0.65 THEN 'declined' WHEN r < 0.75 THEN 'cancelled'
            WHEN r < 0.85 THEN 'expired' ELSE 'accepted' END,
       created, created,
       CASE WHEN r < 0.80 OR r >= 0.85 THEN created + interval '2 hours' END,
       CASE WHEN r < 0.55 OR r >= 0.85 THEN created + interval '1 day' END,
       CASE WHEN r < 0.55 OR (r >= 0.80 AND r < 0.85) THEN created + interval '5 days' END,
       CASE WHEN r < 0.85 THEN created + interval '8 days' END, ''
FROM (SELECT i, random() r, random() r_shop, random() r_book,
             %(start)s::timestamptz + power(random(), 0.8) * (%(end)s::timestamptz - %(start)s::timestamptz) created
      FROM generate_series(1, %(count)s) i) g
"""

ALERTS_SQL = """
INSERT INTO orders_alert (book_id, reader_email, language, latitude, longitude, place, radius_km, shop_id, created_at,
    confirmed_at, fulfilled_at, unsubscribed_at, expires_at, expired_at)
SELECT %(book0)s + floor(power(r_book, 2) * %(books)s)::int, 'a' || i || '@example.org', 'fr',
       CASE WHEN r_shop >= 0.3 THEN 42 + 8 * random() END, CASE WHEN r_shop >= 0.3 THEN -4 + 11 * random() END, '',
       CASE WHEN r_shop >= 0.3 THEN 30 END,
       CASE WHEN r_shop < 0.3 THEN %(shop0)s + floor(r_shop / 0.3 * %(shops)s)::int END,
       created, CASE WHEN r < 0.9 THEN created + interval '1 hour' END,
       CASE WHEN r < 0.4 THEN created + interval '9 days' END,
       CASE WHEN r >= 0.4 AND r < 0.5 THEN created + interval '20 days' END,
       created + interval '183 days', NULL
FROM (SELECT i, random() r, random() r_shop, random() r_book,
             %(start)s::timestamptz + random() * (%(end)s::timestamptz - %(start)s::timestamptz) created
      FROM generate_series(1, %(count)s) i) g
"""

LIVE_MONTHLY_SQL = """
SELECT shop_id, date_trunc('month', created_at AT TIME ZONE 'Europe/Paris') AS month, count(*),
       count(*) FILTER (WHERE status = 'collected'),
       count(*) FILTER (WHERE status = 'expired' AND confirmed_at IS NULL),
       count(*) FILTER (WHERE status = 'expired' AND confirmed_at IS NOT NULL),
       count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'redirected')
FROM reservations_reservation WHERE created_at >= %s GROUP BY 1, 2
"""


def create_database(name):
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}", "DJANGO_DEBUG": "true"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    set_column_defaults(name)


def set_column_defaults(name):
    """Give every NOT NULL column its model default in the database, so the bulk SQL names only what it sets."""
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ["DJANGO_DEBUG"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.apps import apps

    django.setup()
    from psycopg.types.json import Jsonb

    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if field.null or field.primary_key:
                    continue
                # A blank text field without a default gets "" (Django's own default for it).
                default = field.get_default()
                if isinstance(default, (dict, list)):
                    default = Jsonb(default)
                elif not isinstance(default, (str, int, float, bool)):
                    continue  # a moment or a random reference: the SQL sets those itself
                table, column = model._meta.db_table, field.column
                literal = psycopg.ClientCursor(conn).mogrify("%s", [default])
                conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {literal}')


def copy_rows(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(name, *, reservations, orders, books, per_shop, shops=1000, seed=42):
    from bookshops.gazetteer import get_gazetteer

    rng = random.Random(seed)
    places = [p for ps in get_gazetteer().by_name.values() for p in ps]
    towns = rng.sample(places, shops)
    now = datetime.datetime.now(datetime.UTC)
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
                "stock_reported_at",
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
                    now - datetime.timedelta(days=rng.choice([0, 1, 2, 3, 10, 40])),
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
                (
                    f"979{n:010d}",
                    f"Livre {n}",
                    "",
                    "Éditeur",
                    "",
                    "fre",
                    "",
                    "",
                    "out_of_print" if n % 50 == 49 else "available",
                    "{}",
                    now,
                    now,
                )
                for n in range(books)
            ),
        )
        cur.execute("SELECT min(id) FROM bookshops_shop")
        shop0 = cur.fetchone()[0]
        cur.execute("SELECT min(id) FROM catalogue_book")
        book0 = cur.fetchone()[0]

        def lines():
            for shop in range(shops):
                for book in {*range(50), *rng.sample(range(50, books), per_shop - 50)}:
                    yield (shop0 + shop, book0 + book, rng.randint(0, 4), 0, "18.50", now)

        copy_rows(
            cur, "catalogue_stockline", ["shop_id", "book_id", "quantity", "held", "price", "changed_at"], lines()
        )
        copy_rows(
            cur,
            "catalogue_stockimport",
            [
                "shop_id",
                "file",
                "original_filename",
                "created_at",
                "channel",
                "status",
                "message",
                "encoding",
                "delimiter",
                "rows_read",
                "created_count",
                "updated_count",
                "unchanged_count",
                "zeroed_count",
                "rejected_count",
                "books_created_count",
                "report",
                "duration_ms",
            ],
            (
                (
                    shop0 + shop,
                    "",
                    "stock.csv",
                    now - datetime.timedelta(days=7 * week + 1),
                    "api",
                    "applied",
                    "",
                    "utf-8",
                    ";",
                    per_shop,
                    0,
                    rng.choice([0, 0, 12]),
                    per_shop,
                    0,
                    0,
                    0,
                    "[]",
                    300,
                )
                for shop in range(shops)
                for week in range(52)
            ),
        )
        # The last twelve months, each month's share of the year by season.
        this_month = now.date().replace(day=1)
        months = []
        for back in range(12, 0, -1):
            index = this_month.year * 12 + this_month.month - 1 - back
            months.append(datetime.date(index // 12, index % 12 + 1, 1))
        weights = [SEASON[m.month - 1] for m in months]
        offset = 0
        for month, weight in zip(months, weights):
            count = round(reservations * weight / sum(weights))
            after = (month + datetime.timedelta(days=32)).replace(day=1)
            cur.execute(
                RESERVATIONS_SQL,
                {
                    "offset": offset,
                    "shop0": shop0,
                    "shops": shops,
                    "book0": book0,
                    "books": books,
                    "count": count,
                    "start": f"{month} 00:00+01",
                    "end": f"{after} 00:00+01",
                },
            )
            offset += count
        cur.execute("""
            INSERT INTO reservations_reservationevent (reservation_id, from_status, to_status, actor, reason, created_at)
            SELECT id, 'requested', 'cancelled', CASE WHEN id % 3 = 0 THEN 'staff' ELSE 'reader' END, '', closed_at
            FROM reservations_reservation WHERE status = 'cancelled'""")
        # Counted rows, as the search records them: 5,000 queries, a few searched very often.
        cur.execute("""
            INSERT INTO catalogue_searchmiss (query, count, last_seen_at)
            SELECT 'titre introuvable ' || i, 1 + floor(2000 / i)::int, now() - random() * interval '365 days'
            FROM generate_series(1, 5000) i""")
        for sql in (ORDERS_SQL, ALERTS_SQL):
            cur.execute(
                sql,
                {
                    "shop0": shop0,
                    "shops": shops,
                    "book0": book0,
                    "books": books,
                    "count": orders,
                    "start": f"{months[0]} 00:00+01",
                    "end": f"{this_month} 00:00+01",
                },
            )
        cur.execute("""
            INSERT INTO orders_orderevent (order_id, from_status, to_status, actor, reason, created_at)
            SELECT id, 'requested', 'cancelled', CASE WHEN id % 3 = 0 THEN 'staff' ELSE 'reader' END, '', closed_at
            FROM orders_order WHERE status = 'cancelled'""")
        conn.commit()
    with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.monotonic() - started, shop0


def timed(function, runs):
    samples = []
    for _run in range(runs):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples), result


def run(name, runs, shop0, profile=False, skip_refresh=False):
    os.environ["DATABASE_URL"] = f"{SERVER}/{name}"
    os.environ["DJANGO_DEBUG"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bookshops.models import Shop
    from figures.services import figures_refresh

    if skip_refresh:
        print("figures_refresh skipped (the summary tables of the kept database)")
    else:
        started = time.monotonic()
        refresh = figures_refresh(since=datetime.date.today().replace(day=1) - datetime.timedelta(days=366))
        print(f"figures_refresh (full rebuild, from {refresh.since}): {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        figures_refresh()
        print(f"figures_refresh (the last two months, the 15-minute schedule): {time.monotonic() - started:.1f} s")

    User = get_user_model()
    User.objects.filter(username__startswith="bench-").delete()
    admin = User.objects.create_superuser("bench-admin", "a@example.org", "x")
    seller = User.objects.create_user("bench-seller", "s@example.org", "x", is_staff=True)
    seller.user_permissions.add(Permission.objects.get(codename="view_reservation"))
    Shop.objects.get(pk=shop0).staff.add(seller)
    # Not the test environment: templates render as in production (no instrumentation).
    association, bookseller = Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost")
    association.force_login(admin)
    bookseller.force_login(seller)

    def page(client, query=""):
        response = client.get("/admin/figures/" + query)
        assert response.status_code == 200, response.status_code
        return response

    page(association)  # warm-up: templates, connections
    print(f"{'what':<44} {'median':>9} {'max':>9}")
    for label, function in [
        ("page, association (1,000 shops)", lambda: page(association)),
        ("page, one shop's bookseller", lambda: page(bookseller)),
        ("page, association, one department", lambda: page(association, "?department=33")),
        ("CSV, per-shop outcomes (1,000 rows)", lambda: page(association, "?csv=par-librairie")),
    ]:
        median, worst, _result = timed(function, runs)
        print(f"{label:<44} {median:>7.0f} ms {worst:>7.0f} ms")

    for label, client, query in [
        ("association", association, ""),
        ("one shop's bookseller", bookseller, ""),
        ("association, one department", association, "?department=33"),
    ]:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            page(client, query)
        total = (time.perf_counter() - started) * 1000
        sql = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(
            f"\n{label}: {total:.0f} ms, of which {len(queries.captured_queries)} queries {sql:.0f} ms, "
            f"Python (ORM, selectors, charts, template) {total - sql:.0f} ms"
        )
        heaviest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
        for q in heaviest[: 8 if profile else 1]:
            print(f"  {float(q['time']) * 1000:6.0f} ms  {q['sql'][: 600 if profile else 2000]}")
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        page(association)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"figures|template", 25)
    print()

    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=366)
    with connection.cursor() as cursor:
        for label, sql, params in [
            ("raw: monthly outcomes straight from reservations", LIVE_MONTHLY_SQL, [since]),
            ("raw: SELECT count(*) FROM reservations", "SELECT count(*) FROM reservations_reservation", []),
        ]:
            median, worst, _ = timed(lambda: (cursor.execute(sql, params), cursor.fetchall()), runs)
            print(f"{label:<50} {median:>7.0f} ms {worst:>7.0f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="bench_figures_1m")
    parser.add_argument("--reservations", type=int, default=1_000_000)
    parser.add_argument("--books", type=int, default=100_000)
    parser.add_argument("--per-shop", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--orders", type=int, default=100_000, help="orders, and as many alerts")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on a database kept by an earlier --keep")
    parser.add_argument("--load-only", action="store_true", help="load and stop (with --keep)")
    parser.add_argument("--skip-refresh", action="store_true", help="with --reuse: keep the summary tables")
    parser.add_argument("--profile", action="store_true", help="print each page's SQL and Python time, top queries")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    if args.reuse:
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{args.db}", "DJANGO_DEBUG": "true"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        with psycopg.connect(f"{SERVER}/{args.db}") as conn:
            shop0 = conn.execute("SELECT min(id) FROM bookshops_shop").fetchone()[0]
    else:
        create_database(args.db)
        seconds, shop0 = load(
            args.db, reservations=args.reservations, orders=args.orders, books=args.books, per_shop=args.per_shop
        )
        print(
            f"loaded 1,000 shops, {args.books:,} books, {args.per_shop * 1000:,} stock lines, "
            f"{args.reservations:,} reservations, {args.orders:,} orders and as many alerts in {seconds:.0f} s"
        )
    if args.load_only:
        return
    try:
        run(args.db, args.runs, shop0, profile=args.profile, skip_refresh=args.skip_refresh)
    finally:
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.keep and not args.load_only:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')


if __name__ == "__main__":
    main()
