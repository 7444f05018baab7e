"""Timing of the point-of-sale API on a 50,000-line shop (not collected by default).

Run: python -m pytest -q -s tests/catalogue/bench_api.py   (add DATABASE_URL for PostgreSQL)
"""

import json
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from bookshops.tokens import api_token_create
from catalogue.models import Book, StockLine
from tests.factories import ShopFactory, make_isbn

LINES = 50_000


def timed(call, seconds=5.0, at_least=3):
    started, count = time.perf_counter(), 0
    while count < at_least or time.perf_counter() - started < seconds:
        call()
        count += 1
    return count, (time.perf_counter() - started) / count


@pytest.mark.django_db
def test_bench(client):
    shop = ShopFactory(siret="73282932000074")
    token = api_token_create(shop=shop, name="bench")[1]
    auth = {"Authorization": f"Bearer {token}"}
    isbns = [make_isbn(n) for n in range(LINES)]
    Book.objects.bulk_create([Book(isbn=i, title=f"Livre {i}") for i in isbns], batch_size=5000)
    ids = dict(Book.objects.values_list("isbn", "id"))
    now = timezone.now()
    StockLine.objects.bulk_create(
        [StockLine(shop=shop, book_id=ids[i], quantity=2, price=Decimal("12.00"), changed_at=now) for i in isbns],
        batch_size=5000,
    )
    if connection.vendor == "postgresql":  # as autovacuum would after such an insert
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalogue_book; ANALYZE catalogue_stockline")
    url = f"/api/v1/shops/{shop.slug}/stock"
    n = iter(range(10**6))

    def patch():
        body = json.dumps({"stocks": [{"ref": isbns[next(n) % LINES], "quantity": 3 + next(n) % 5}]})
        r = client.patch(url, body, content_type="application/json", headers=auth)
        assert r.status_code == 200, r.content

    count, per = timed(patch)
    print(f"\nPATCH 1 line on a {LINES}-line shop: {count} requests, {per * 1000:.1f} ms each, {1 / per:.1f} req/s")

    def raw_update():  # the raw limit: the one line's change as a single SQL statement
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE catalogue_stockline SET quantity = %s, changed_at = now() WHERE shop_id = %s AND book_id = %s",
                [3 + next(n) % 5, shop.pk, ids[isbns[next(n) % LINES]]],
            )

    count, raw = timed(raw_update, seconds=2.0)
    print(f"raw limit, the same change as one SQL UPDATE: {raw * 1000:.2f} ms ({per / raw:.0f}× faster than the PATCH)")

    csv = "EAN;Qté;Prix TTC\r\n" + "".join(f"{i};{1 + k % 3};12,00\r\n" for k, i in enumerate(isbns))
    started = time.perf_counter()
    r = client.put(url, csv, content_type="text/csv", headers=auth)
    assert r.status_code in (200, 202), r.content[:300]  # 202: above STOCK_IMPORT_INLINE_MAX_BYTES, for the worker
    print(
        f"PUT snapshot of {LINES} lines ({len(csv) // 1024} KiB): {r.status_code} in {time.perf_counter() - started:.2f} s"
    )
