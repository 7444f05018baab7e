#!/usr/bin/env python
"""Benchmark: time and peak memory of one stock import, whatever the file (run it under ``farm-bench``).

Three steps, each its own process so that ``farm-bench`` reports the import's
peak memory alone:

    # once: migrate the throw-away database and write the files
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_feeds_bench .venv/bin/python bench/stock_feeds.py --setup
    # one import of a file into a new shop, as the worker runs it (index refresh included)
    farm-bench -n 1 --warmup 0 --timeout 1800 -- sh -c 'exec .venv/bin/python bench/stock_feeds.py \
        --import var/bench/lines-150000.csv >>/tmp/feeds-bench.txt 2>&1'
    # the floor: the same process doing everything but the import
    farm-bench -n 3 -- .venv/bin/python bench/stock_feeds.py --noop

``--import`` prints the portal's figures (rows/s, the record's duration and
report size) beside two raw limits measured in the same process: reading the
file with the csv module alone, and COPYing its rows into a temporary table
(PostgreSQL) — what no import of that file can beat.
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Production settings: with DEBUG on, Django keeps the last 9,000 queries' SQL, which would count as the import's memory.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
os.environ.setdefault("TASKS_BACKEND", "immediate")  # the index refresh runs in this process, after commit
FILES = ROOT / "var" / "bench"


def make_isbn(n):
    body = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def write_files():
    FILES.mkdir(parents=True, exist_ok=True)
    for lines in (50_000, 150_000, 1_000_000):
        path = FILES / f"lines-{lines}.csv"
        if not path.exists():
            with path.open("w", encoding="utf-8", newline="") as out:
                out.write("EAN;Titre;Auteur;Éditeur;Qté;Prix TTC\r\n")
                for i in range(lines):
                    out.write(
                        f"{make_isbn(i)};Titre {i};Auteur {i % 997};Éditeur {i % 89};{i % 9 + 1};"
                        f"{5 + i % 40},{i % 100:02d}\r\n"
                    )
        print(path, path.stat().st_size, "bytes")
    path = FILES / "bad-20MB.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write("EAN;Qté\r\n")
            line = 0
            while out.tell() < 20 * 1024 * 1024:
                out.write(f"97820703682{line % 100:02d};x{line}\r\n")  # bad check digit mostly, bad quantity always
                line += 1
    print(path, path.stat().st_size, "bytes")


def raw_limits(path):
    from django.db import connection

    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as text:
        columns = len(text.readline().split(";"))
        text.seek(0)
        rows = sum(1 for _row in csv.reader(text, delimiter=";")) - 1
    parse = time.perf_counter() - started
    copy = None
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE raw_copy ({', '.join(f'c{i} text' for i in range(columns))})")
            with (
                path.open("rb") as data,
                cursor.cursor.copy("COPY raw_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)") as copy_in,
            ):
                while chunk := data.read(1 << 20):
                    copy_in.write(chunk)
            cursor.execute("DROP TABLE raw_copy")
        copy = time.perf_counter() - started
    return rows, parse, copy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--import", dest="path", type=Path)
    parser.add_argument("--noop", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bookshops.models import Shop
    from catalogue.models import StockImport
    from catalogue.stock.snapshots import stock_import_create, stock_import_run

    if args.setup:
        call_command("migrate", verbosity=0)
        write_files()
        return
    shop = Shop.objects.create(name=f"Bench {time.time()}", slug=f"bench-{int(time.time() * 1000)}")
    if args.noop:
        return
    with args.path.open("rb") as handle:
        record = stock_import_create(shop=shop, file=handle, filename=args.path.name, force=True)
    started = time.perf_counter()
    record = stock_import_run(stock_import_id=record.pk)
    total = time.perf_counter() - started
    report_bytes = len(str(record.report).encode())
    rows, parse, copy = raw_limits(args.path)
    print(
        f"{connection.vendor} {args.path.name}: {record.status}, {record.rows_read} rows read, "
        f"created {record.created_count}, rejected {record.rejected_count}; import {record.duration_ms / 1000:.1f} s "
        f"({record.rows_read / max(record.duration_ms / 1000, 0.001):,.0f} rows/s), with index refresh "
        f"{total:.1f} s; report {len(record.report)} problems kept, {report_bytes:,} bytes; "
        f"raw: csv read {parse:.1f} s ({rows / parse:,.0f} rows/s)"
        + (f", COPY {copy:.1f} s ({rows / copy:,.0f} rows/s)" if copy else "")
    )
    assert record.status in (StockImport.Status.APPLIED, StockImport.Status.REFUSED)


if __name__ == "__main__":
    main()
