"""Writing tens of thousands of rows at once, fast on both databases.

Stock snapshots write whole shops' stock. ``bulk_create`` prepares every
field in Python and, on PostgreSQL, psycopg re-parses every long multi-row
statement (queries of more than 50 parameters are not cached): both
dominated the import's time in ``bench/stock_import.py``. PostgreSQL gets
``COPY`` (through a temporary table for upserts); SQLite gets multi-row
``INSERT`` statements, which it parses cheaply.
"""

from collections.abc import Iterable, Sequence

from django.db import DEFAULT_DB_ALIAS, connections

ROWS_PER_STATEMENT = 500


def chunked(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(model, objects: list) -> None:
    """INSERT unsaved instances of a simple model; their primary keys are not set."""
    connection = connections[DEFAULT_DB_ALIAS]  # the real object: the proxy's lookups cost per value
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = []
    for obj in objects:
        values = (getattr(obj, f.attname) for f in fields)
        # Most columns of a new book are empty: "" and None need no preparation.
        rows.append(
            tuple(v if v is None or v == "" else f.get_db_prep_save(v, connection) for f, v in zip(fields, values))
        )
    _write(model._meta.db_table, [f.column for f in fields], rows)


def bulk_insert_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    """INSERT ready-made rows (values already prepared for the database) into any table."""
    _write(table, columns, rows)


def bulk_upsert(table: str, columns: list[str], rows: list[tuple], *, conflict: list[str], update: list[str]) -> None:
    """INSERT rows, or UPDATE the ``update`` columns of the rows that clash on ``conflict``."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    on_conflict = "ON CONFLICT ({}) DO UPDATE SET {}".format(
        ", ".join(quote(c) for c in conflict), ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
    )
    _write(table, columns, rows, on_conflict)


def _write(table: str, columns: list[str], rows: list[tuple], on_conflict: str = "") -> None:
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            target = table
            if on_conflict:
                target = f"bulk_{table}"
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {quote(target)} ON COMMIT DROP AS "
                    f"SELECT {column_list} FROM {quote(table)} WITH NO DATA"
                )
            with cursor.cursor.copy(f"COPY {quote(target)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if on_conflict:
                cursor.execute(
                    f"INSERT INTO {quote(table)} ({column_list}) SELECT {column_list} FROM {quote(target)} {on_conflict}"
                )
                cursor.execute(f"DROP TABLE {quote(target)}")
            return
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for batch in chunked(rows, ROWS_PER_STATEMENT):
            values = ", ".join([placeholder] * len(batch))
            sql = f"INSERT INTO {quote(table)} ({column_list}) VALUES {values} {on_conflict}"
            cursor.execute(sql, [v for row in batch for v in row])
