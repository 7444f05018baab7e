#!/usr/bin/env python
"""Benchmark: rows per second of a stock snapshot import.

Measures a first import of N lines (N new books, their search documents
written by the index refresh the import queues, run here after it), then a
re-import of the same file with 5 % of lines changed, on the database named by
DATABASE_URL (a throw-away one: the script migrates it and creates its own
shop). Beside them, the raw limit measured in the same run: the same rows
COPYed into a temporary table (PostgreSQL) or inserted with executemany
(SQLite). Usage:

    DATABASE_URL=sqlite:///var/bench_stock.sqlite3 .venv/bin/python bench/stock_import.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_stock .venv/bin/python bench/stock_import.py
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")  # with DEBUG on, Django keeps every query's SQL
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
os.environ.setdefault("TASKS_BACKEND", "db")  # tasks queued: the index refresh is run and timed below


def make_isbn(n):
    from stdnum import ean

    body = f"979{n:09d}"
    return body + ean.calc_check_digit(body)


def build_file(rows):
    lines = ["EAN;Titre;Auteur;Éditeur;Qté;Prix TTC"]
    lines += [
        f"{isbn};Titre {i};Auteur {i % 997};Éditeur {i % 89};{qty};{price}" for i, (isbn, qty, price) in enumerate(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def raw_copy(rows):
    """Seconds to write these rows (ISBN, quantity, price) with their texts into a temporary table, the raw way."""
    from django.db import connection

    lines = [
        (n, isbn, qty, f"Titre {n}", f"Auteur {n % 997}", f"Éditeur {n % 89}") for n, (isbn, qty, _p) in enumerate(rows)
    ]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE raw_copy (line integer, isbn varchar(13), quantity integer, title text, "
            "author text, publisher text)"
        )
        if connection.vendor == "postgresql":
            with cursor.cursor.copy("COPY raw_copy FROM STDIN") as copy:
                for line in lines:
                    copy.write_row(line)
        else:
            cursor.executemany("INSERT INTO raw_copy VALUES (%s, %s, %s, %s, %s, %s)", lines)
        cursor.execute("DROP TABLE raw_copy")
    return time.perf_counter() - started


def index_refresh(record):
    """Run the index refresh an import queued (what the worker does after it); returns its seconds."""
    from catalogue.tasks import refresh_search_index

    started = time.perf_counter()
    if record.index_refresh_ids:
        refresh_search_index.call(record.index_refresh_ids)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bookshops.models import Shop
    from catalogue.models import BookSearchDocument, StockLine
    from catalogue.stock.snapshots import stock_import

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, rows: {args.rows}")
    for attempt in range(args.repeat):
        shop = Shop.objects.create(
            name=f"Bench {attempt} {time.time()}", slug=f"bench-{attempt}-{int(time.time() * 1000)}"
        )
        rows = [
            (
                make_isbn(attempt * 10_000_000 + i),
                rng.randint(1, 9),
                f"{rng.randint(500, 4000) / 100:.2f}".replace(".", ","),
            )
            for i in range(args.rows)
        ]
        first = build_file(rows)
        started = time.perf_counter()
        record = stock_import(shop=shop, data=first, filename="bench.csv")
        import_s = time.perf_counter() - started
        assert record.created_count == args.rows, record.message
        index_s = index_refresh(record)
        first_s = import_s + index_s
        assert BookSearchDocument.objects.filter(book__stock_lines__shop=shop).count() == args.rows

        for i in rng.sample(range(args.rows), args.rows // 20):
            isbn, qty, price = rows[i]
            rows[i] = (isbn, qty + 1, price)
        second = build_file(rows)
        started = time.perf_counter()
        record = stock_import(shop=shop, data=second, filename="bench.csv")
        second_s = time.perf_counter() - started + index_refresh(record)
        assert record.updated_count == args.rows // 20, record.message
        assert StockLine.objects.filter(shop=shop).count() == args.rows
        raw_s = raw_copy(rows)
        print(
            f"run {attempt + 1}: first import, {args.rows:,} new books created and indexed for search: "
            f"{first_s:.2f} s ({args.rows / first_s:,.0f} rows/s; import {import_s:.2f} s + index {index_s:.2f} s) · "
            f"re-import with 5 % changed: {second_s:.2f} s ({args.rows / second_s:,.0f} rows/s) · "
            f"raw limit, the same rows {'COPYed' if connection.vendor == 'postgresql' else 'inserted'} "
            f"into a temporary table: {raw_s:.2f} s ({args.rows / raw_s:,.0f} rows/s)"
        )


if __name__ == "__main__":
    main()
