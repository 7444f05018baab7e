#!/usr/bin/env python
"""Benchmark: products per second of an ONIX feed import, beside lxml's raw parsing speed of the same file.

Builds a feed of N products (default 50,000) from the real records of
tests/data/onix (the Macmillan and Phébus ones, each copy given its own ISBN
and title), then measures in one run:

- raw limit: ``lxml.etree.iterparse`` of the file alone (products cleared as read), and the same with
  each record hashed as the import does to recognise an unchanged one (the floor of a re-import);
- the portal's reader alone (``catalogue.onix.iter_onix``: every field read);
- the whole import (``books_import_onix``: books, contributors, subjects, form
  links written and the search index refreshed), first into an empty catalogue,
  then again (every product unchanged: each record is recognised by its ``Book.onix_digest`` and
  skipped), with DEBUG off and then on, reporting
  the process's resident memory after each chunk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_onix .venv/bin/python bench/onix_import.py
    (--products 5000 for a quick look; the database is migrated and emptied of books first: never real data)
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development secret key; the runs below set DEBUG themselves
DATA = ROOT / "tests" / "data" / "onix"


def isbn13(n: int) -> str:
    body = f"979{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def templates() -> list[str]:
    """Product elements of real feeds, with a placeholder where their own ISBN goes."""
    products = []
    for name in ("jonix/onix3-multiple.xml", "im_onix/9782752906700.xml", "im_onix/full_sample.xml"):
        text = (DATA / name).read_text(encoding="utf-8" if "im_onix" in name else "iso-8859-1")
        for product in re.findall(r"<Product[ >].*?</Product>", text, flags=re.S):
            match = re.search(r"<ProductIDType>(?:15|03)</ProductIDType>\s*<IDValue>(97[89]\d{10})</IDValue>", product)
            if match:
                product = product.replace(match.group(1), "{isbn}").replace("<TitleText>", "<TitleText>{n} ", 1)
                products.append(re.sub(r'<Product xmlns="[^"]*"', "<Product", product))
    return products


def build_feed(path: Path, count: int) -> None:
    parts = templates()
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<ONIXMessage release="3.0">\n'
            "<Header><Sender><SenderName>Bench</SenderName></Sender></Header>\n"
        )
        for n in range(count):
            product = parts[n % len(parts)]
            out.write(product.replace("{isbn}", isbn13(n + 1)).replace("{n}", str(n + 1)) + "\n")
        out.write("</ONIXMessage>\n")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raw_parse(path: Path) -> tuple[int, float]:
    from lxml import etree

    started = time.perf_counter()
    count = 0
    for _event, element in etree.iterparse(str(path), events=("end",), tag="{*}Product", huge_tree=True):
        count += 1
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count, time.perf_counter() - started


def raw_parse_hashed(path: Path) -> tuple[int, float]:
    """The floor of an unchanged re-import: lxml iterparse and each product's record hashed, nothing else."""
    from lxml import etree

    from catalogue.onix.reader import record_digest

    started = time.perf_counter()
    count = 0
    for _event, element in etree.iterparse(str(path), events=("end",), tag="{*}Product", huge_tree=True):
        count += 1
        record_digest(element)
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    import catalogue.onix.imports as imports
    from catalogue.models import Book
    from catalogue.onix import books_import_onix, iter_onix

    call_command("migrate", verbosity=0)
    Book.objects.filter(stock_lines__isnull=True, reservations__isnull=True).delete()
    load = os.getloadavg()
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']} · load average {load[0]:.2f} "
        f"{load[1]:.2f} {load[2]:.2f} · {os.cpu_count()} CPUs"
    )

    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "bench.xml"
        build_feed(feed, args.products)
        print(f"feed: {args.products:,} products, {feed.stat().st_size / 1e6:.0f} MB")

        count, raw_s = raw_parse(feed)
        raw_rate = count / raw_s
        print(f"raw limit, lxml iterparse alone: {raw_rate:,.0f} products/s ({raw_s:.2f} s) · memory {rss_mb():.0f} MB")
        count, hashed_s = raw_parse_hashed(feed)
        print(
            f"lxml iterparse + each record hashed:  {count / hashed_s:,.0f} products/s ({hashed_s:.2f} s) · "
            f"memory {rss_mb():.0f} MB"
        )
        started = time.perf_counter()
        read = sum(1 for _ in iter_onix(feed))
        reader_s = time.perf_counter() - started
        print(
            f"portal reader alone (every field):  {read / reader_s:,.0f} products/s ({reader_s:.2f} s) · "
            f"memory {rss_mb():.0f} MB"
        )

        samples = []
        chunk_apply = imports._records_apply

        def sampled(*a, **kw):
            chunk_apply(*a, **kw)
            samples.append(rss_mb())

        imports._records_apply = sampled
        for label, debug in (
            ("first import (all new)", False),
            ("re-import (unchanged)", False),
            ("re-import, DEBUG on", True),
        ):
            settings.DEBUG = debug
            samples.clear()
            started = time.perf_counter()
            report = books_import_onix(source=feed)
            took = time.perf_counter() - started
            assert not report.failed, report.file_error
            print(
                f"portal import, {label}: {report.products_read / took:,.0f} products/s "
                f"({report.products_read / took / raw_rate:.0%} of raw; {took:.1f} s; "
                f"created {report.created:,}, updated {report.updated:,}, unchanged {report.unchanged:,}) · "
                f"memory {samples[0]:.0f} MB after the first chunk, {max(samples):.0f} MB at most, "
                f"{samples[-1]:.0f} MB at the end"
            )
        settings.DEBUG = False
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
