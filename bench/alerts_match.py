#!/usr/bin/env python
"""Benchmark: finding the alerts a 50,000-line stock import fires, among 100,000 watching alerts.

On a throw-away database named by DATABASE_URL (the script migrates it and
writes its own books, shops, stock and alerts with bulk SQL). It times
``orders.services.alerts_match`` on the import's book ids and, in the same run,
the raw limit: the one SQL query that reads the watching alerts of those books.
The e-mails are queued for the worker (the database queue), not sent. Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_alerts .venv/bin/python bench/alerts_match.py
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("TASKS_BACKEND", "db")  # the e-mails wait for a worker, as in production


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--books", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=50_000, help="lines of the import that brings copies in")
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from bookshops.models import Shop
    from catalogue.models import Book, StockLine
    from catalogue.stock.bulk import bulk_insert
    from orders.models import Alert, OrderEmail
    from orders.services import alerts_match

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    now = timezone.now()
    if not Alert.objects.exists():
        print("writing the data set…", flush=True)
        bulk_insert(
            Shop,
            [
                Shop(
                    name=f"Bench {i}",
                    slug=f"bench-alerts-{i}",
                    latitude=rng.uniform(43, 50),
                    longitude=rng.uniform(-1.5, 7),
                    is_active=True,
                    created_at=now,
                )
                for i in range(args.shops)
            ],
        )
        bulk_insert(
            Book,
            [Book(isbn=f"979{i:010d}", title=f"Bench {i}", created_at=now, updated_at=now) for i in range(args.books)],
        )
        book_ids = list(Book.objects.order_by("pk").values_list("pk", flat=True))
        bulk_insert(
            Alert,
            [
                Alert(
                    book_id=rng.choice(book_ids),
                    reader_email=f"r{i}@example.org",
                    latitude=rng.uniform(43, 50),
                    longitude=rng.uniform(-1.5, 7),
                    radius_km=30,
                    created_at=now,
                    confirmed_at=now,
                    expires_at=now + datetime.timedelta(days=180),
                )
                for i in range(args.alerts)
            ],
        )
    if connection.vendor == "postgresql":  # what autovacuum does after a bulk load: plans use the indexes
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_alert; ANALYZE catalogue_book; ANALYZE bookshops_shop")
    shop_ids = list(Shop.objects.values_list("pk", flat=True))
    book_ids = list(Book.objects.order_by("pk").values_list("pk", flat=True))
    print(
        f"database: {connection.vendor}, {Alert.objects.count()} alerts, {len(book_ids)} books, "
        f"{len(shop_ids)} shops; an import of {args.lines} lines",
        flush=True,
    )
    for attempt in range(args.repeat):
        shop_id = rng.choice(shop_ids)
        changed = rng.sample(book_ids, args.lines)
        with transaction.atomic():
            StockLine.objects.filter(shop_id=shop_id).delete()
            bulk_insert(
                StockLine, [StockLine(shop_id=shop_id, book_id=b, quantity=1, held=0, changed_at=now) for b in changed]
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE catalogue_stockline")
        Alert.objects.filter(fulfilled_at__isnull=False).update(fulfilled_at=None)
        OrderEmail.objects.all().delete()

        started = time.perf_counter()
        with connection.cursor() as cursor:
            for start in range(0, len(changed), 1000):
                cursor.execute(
                    "SELECT id, book_id, latitude, longitude, radius_km FROM orders_alert WHERE book_id = ANY(%s) "
                    "AND confirmed_at IS NOT NULL AND fulfilled_at IS NULL AND unsubscribed_at IS NULL "
                    "AND expired_at IS NULL AND expires_at > now()",
                    [changed[start : start + 1000]],
                )
                cursor.fetchall()
        raw = time.perf_counter() - started

        started = time.perf_counter()
        fired = alerts_match(book_ids=changed)
        portal = time.perf_counter() - started
        print(
            f"run {attempt + 1}: alerts_match {portal:.2f} s ({fired} alerts fired, e-mails queued) — "
            f"raw SQL reading the watching alerts of those books {raw:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
