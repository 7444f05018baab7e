"""Writing tens of thousands of rows at once, fast on both databases.

Stock snapshots write whole shops' stock. ``bulk_create`` prepares every
field in Python and, on PostgreSQL, psycopg re-parses every long multi-row
statement (queries of more than 50 parameters are not cached): both
dominated the import's time in ``bench/stock_import.py``. PostgreSQL gets
``COPY``; SQLite gets multi-row ``INSERT`` statements, which it parses
cheaply. Rows already in the database (a staging table) are written by
``insert_select``, without coming through Python at all.
"""

from collections.abc import Iterable, Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models

ROWS_PER_STATEMENT = 500
#: Fields whose ``str`` or ``int`` values need no preparation on either database.
_PLAIN = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)


def chunked(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(model, objects: list) -> None:
    """INSERT unsaved instances of a simple model; their primary keys are not set."""
    connection = connections[DEFAULT_DB_ALIAS]  # the real object: the proxy's lookups cost per value
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # Strings and integers of text, integer and key fields go as they are; the rest (dates, JSON…) is prepared.
    plain = [(f, (str, int) if isinstance(f, _PLAIN) else ()) for f in fields]
    rows = []
    for obj in objects:
        rows.append(
            tuple(
                v if v is None or v == "" or type(v) in kinds else f.get_db_prep_save(v, connection)
                for f, kinds in plain
                for v in (getattr(obj, f.attname),)
            )
        )
    _write(model._meta.db_table, [f.column for f in fields], rows)


def bulk_insert_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    """INSERT ready-made rows (values already prepared for the database) into any table."""
    _write(table, columns, rows)


def insert_select(model, values: dict[str, tuple[str, list]], source: str, params: list | None = None) -> int:
    """``INSERT INTO`` a model's table ``SELECT`` rows from ``source`` (``FROM … WHERE …``); returns how many.

    ``values`` gives, by field name, the SQL (and its parameters) of the
    columns the rows set; every other column takes its field's default.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    columns, selected, selected_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        sql, field_params = values.get(field.name) or values.get(field.attname) or ("%s", [field.get_default()])
        selected.append(sql)
        selected_params += [
            p if isinstance(p, str) or p is None else field.get_db_prep_save(p, connection) for p in field_params
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
            f"SELECT {', '.join(selected)} {source}",
            selected_params + list(params or []),
        )
        return cursor.rowcount


def _write(table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for batch in chunked(rows, ROWS_PER_STATEMENT):
            values = ", ".join([placeholder] * len(batch))
            sql = f"INSERT INTO {quote(table)} ({column_list}) VALUES {values}"
            cursor.execute(sql, [v for row in batch for v in row])
