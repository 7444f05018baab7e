"""The shops holding a free copy of each book, kept in its search document (PostgreSQL only).

``catalogue_booksearchdocument.shop_ids`` (``bigint[]``, GIN-indexed) lets the
search keep the books available near the reader with ``shop_ids && ARRAY[…]``
instead of probing the stock lines of every match. The column is not a model
field: SQLite keeps reading the stock lines, and the ORM never writes it (see
``catalogue.search.availability_refresh``). Filled here from the stock as it stands.
"""

from django.db import migrations

#: The active shops with a free copy (``catalogue.stock.availability.available_shops_sql``), as of this migration.
BACKFILL = """
UPDATE catalogue_booksearchdocument d SET shop_ids = t.ids, in_stock_shops = cardinality(t.ids)
FROM (
    SELECT l.book_id, array_agg(l.shop_id ORDER BY l.shop_id) AS ids
    FROM catalogue_stockline l JOIN bookshops_shop s ON s.id = l.shop_id
    WHERE l.quantity > l.held AND s.is_active
    GROUP BY l.book_id
) t
WHERE d.book_id = t.book_id
"""


def add_shop_ids(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE catalogue_booksearchdocument ADD COLUMN shop_ids bigint[] NOT NULL DEFAULT '{}'"
    )
    schema_editor.execute(BACKFILL)
    schema_editor.execute(
        "CREATE INDEX booksearch_shop_ids_gin ON catalogue_booksearchdocument USING gin (shop_ids)"
    )


def drop_shop_ids(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE catalogue_booksearchdocument DROP COLUMN shop_ids")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0008_book_onix_digest"),
    ]

    operations = [migrations.RunPython(add_shop_ids, drop_shop_ids)]
