"""A shop's stock changes as a feed that a reader running during an import cannot skip.

Every write of a stock line (an import, a hold, a release) sets its
``stock_version`` to the *change stamp* of the writing transaction:

- PostgreSQL: the transaction's id (``pg_current_xact_id()``, 64 bits, never
  reused). The *horizon* is the oldest transaction still running
  (``pg_snapshot_xmin``): every transaction below it has finished, so every
  change it made is visible; a change made by a transaction still running,
  however old (a long import), carries a stamp at or above the horizon.
- SQLite: writers take the database's write lock in turn (``IMMEDIATE``), so a
  counter read under that lock (``MAX(stock_version) + 1``) is the stamp, and
  the horizon is the next counter value.

How to read it (the pass Culture push does this)::

    from catalogue.stock.changes import stock_changes
    since, after = 0, 0                      # the first time: everything
    lines, (since, after) = stock_changes(shop=shop, since=since, after_line=after)
    # push ``lines``; store the cursor (since, after); call again with it.

Lines come oldest change first, and only those stamped below the horizon
taken *before* reading them (a change stamped above it, already committed,
comes at a later call: the feed lags at most by the longest transaction
running on the PostgreSQL server, other databases' included). The cursor never goes past the horizon, so no change is ever
skipped, whatever commits late; a line changed again comes again.
Time stamps (``changed_at``, pass Culture's ``modifiedSince``) cannot promise
that: see ``catalogue.stock.api.passculture`` for their look-back margin.
"""

from django.db import connection
from django.db.models import Expression, Q
from django.db.models.fields import BigIntegerField

from ..models import StockLine

#: Most lines returned by one ``stock_changes`` call.
MAX_CHANGES = 10_000


class ChangeStamp(Expression):
    """The current transaction's change stamp, for ``update(stock_version=ChangeStamp())``."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql":
            return "pg_current_xact_id()::text::bigint", []
        table = connection.ops.quote_name(StockLine._meta.db_table)
        return f"(SELECT COALESCE(MAX(stock_version), 0) + 1 FROM {table})", []


def change_stamp() -> int:
    """The change stamp of the current transaction (call it inside the writing transaction)."""
    sql, params = ChangeStamp().as_sql(None, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return cursor.fetchone()[0]


def change_horizon() -> int:
    """The lowest stamp a change not yet visible can carry: the token to read from next time."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        else:
            cursor.execute(f"SELECT COALESCE(MAX(stock_version), 0) + 1 FROM {StockLine._meta.db_table}")
        return cursor.fetchone()[0]


def stock_changes(
    *, shop, since: int, after_line: int = 0, limit: int = MAX_CHANGES
) -> tuple[list[StockLine], tuple[int, int]]:
    """A shop's lines changed at or after ``since``, oldest change first, and the cursor for the next call.

    The cursor is ``(since, after_line)``: the horizon and 0 when everything
    was returned; the last line's stamp and id when ``limit`` stopped the page
    (one import stamps all its lines alike, so the id pages within a stamp).
    """
    horizon = change_horizon()  # before the read: what lies below it is final
    lines = list(
        StockLine.objects.filter(shop=shop, stock_version__lt=horizon)
        .filter(Q(stock_version__gt=since) | Q(stock_version=since, pk__gt=after_line))
        .select_related("book")
        .order_by("stock_version", "pk")[:limit]
    )
    if len(lines) == limit:
        return lines, (lines[-1].stock_version, lines[-1].pk)
    return lines, (max(horizon, since), 0)
