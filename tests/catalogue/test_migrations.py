"""Data migrations run on real rows: the old schema filled, then migrated forward."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import ShopFactory

BEFORE = [("catalogue", "0004_indexrefresh")]
AFTER = [("catalogue", "0005_searchmiss_counted_private_stock_files")]


@pytest.mark.django_db(transaction=True)
def test_search_misses_are_folded_into_one_counted_row_per_query(settings, tmp_path):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        SearchMiss = old.get_model("catalogue", "SearchMiss")
        rows = [SearchMiss.objects.create(query=q) for q in ["dune", "dune", "zola", "dune", "Dune"]]
        stamps = {}
        for n, row in enumerate(rows):  # created_at was auto_now_add: set distinct moments
            moment = f"2026-0{n + 1}-15T10:00:00+00:00"
            SearchMiss.objects.filter(pk=row.pk).update(created_at=moment)
            stamps.setdefault(row.query, []).append(moment)
        # A stock file kept under the public media root, as before.
        StockImport = old.get_model("catalogue", "StockImport")
        shop = ShopFactory()  # bookshops' tables stay at their latest migration
        public = settings.MEDIA_ROOT / "stock-imports/2026/12/stock.csv"
        public.parent.mkdir(parents=True)
        public.write_bytes(b"EAN;Qte\r\n")
        record = StockImport.objects.create(
            shop_id=shop.pk, file="stock-imports/2026/12/stock.csv", status="applied", original_filename="stock.csv"
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Miss = new.get_model("catalogue", "SearchMiss")
        folded = {m.query: (m.count, m.last_seen_at.isoformat()) for m in Miss.objects.all()}
        assert folded == {
            "dune": (3, "2026-04-15T10:00:00+00:00"),
            "zola": (1, "2026-03-15T10:00:00+00:00"),
            "Dune": (1, "2026-05-15T10:00:00+00:00"),
        }
        moved = new.get_model("catalogue", "StockImport").objects.get(pk=record.pk).file.name
        assert moved.startswith(f"stock-imports/{shop.pk}/") and "2026/12" not in moved
        assert not public.exists()
        assert (settings.PRIVATE_MEDIA_ROOT / moved).read_bytes() == b"EAN;Qte\r\n"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
