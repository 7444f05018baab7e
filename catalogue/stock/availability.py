"""Which copies a reader can get: on the shelf beyond the held ones, in an active member shop.

The QuerySet method and its SQL twin (for the search engines' raw SQL) are
the one definition; keep them side by side.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest


def available_q() -> Q:
    """The condition of ``available()``, for aggregates over all of a book's lines (``Min(..., filter=...)``)."""
    return Q(quantity__gt=F("held"), shop__is_active=True)


class StockLineQuerySet(models.QuerySet):
    def annotate_available(self):
        """Annotate ``available``: copies on hand beyond the held ones, never below 0."""
        return self.annotate(available=Greatest(F("quantity") - F("held"), 0))

    def available(self):
        """Lines with at least one copy a reader can get now, in an active shop."""
        return self.filter(available_q())

    def for_user(self, user):
        if user.is_superuser:
            return self
        return self.filter(shop__staff=user)


def available_sql(*, line_table: str, shop_table: str, book_column: str, shop_ids: list[int] | None = None):
    """SQL twin of ``StockLineQuerySet.available()`` for one book: true when some line has a free copy.

    ``shop_ids`` narrows to those shops, which the caller took from active shops
    (``bookshops.geo.shop_ids_near``), so the shop table is not joined. A scalar
    subquery, not EXISTS: PostgreSQL would turn EXISTS into a semi-join hashing
    every stock line, where one index probe per matching book is enough.
    Returns ``(sql, params)``.
    """
    if shop_ids is not None:
        if not shop_ids:
            return "1 = 0", []
        placeholders = ", ".join(["%s"] * len(shop_ids))
        return (
            f"(SELECT 1 FROM {line_table} l WHERE l.book_id = {book_column} AND l.quantity > l.held "
            f"AND l.shop_id IN ({placeholders}) LIMIT 1) IS NOT NULL",
            list(shop_ids),
        )
    return (
        f"(SELECT 1 FROM {line_table} l JOIN {shop_table} s ON s.id = l.shop_id "
        f"WHERE l.book_id = {book_column} AND l.quantity > l.held AND s.is_active = %s LIMIT 1) IS NOT NULL",
        [True],
    )


def available_shops_sql(*, line_table: str, shop_table: str, book_column: str) -> str:
    """SQL twin of ``available()`` for one book on PostgreSQL: the ids of the active shops with a free copy.

    A sorted ``bigint[]``, empty when none: what the search document keeps as ``shop_ids``.
    """
    return (
        f"(SELECT COALESCE(array_agg(l.shop_id ORDER BY l.shop_id), '{{}}')::bigint[] "
        f"FROM {line_table} l JOIN {shop_table} s ON s.id = l.shop_id "
        f"WHERE l.book_id = {book_column} AND l.quantity > l.held AND s.is_active)"
    )


def available_at_sql(*, line_table: str, shop_table: str, book_column: str) -> str:
    """SQL twin of ``available()`` for one book in one shop (its id the one ``%s`` parameter): true or false."""
    return (
        f"EXISTS (SELECT 1 FROM {line_table} l JOIN {shop_table} s ON s.id = l.shop_id "
        f"WHERE l.book_id = {book_column} AND l.shop_id = %s AND l.quantity > l.held AND s.is_active)"
    )
