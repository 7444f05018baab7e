"""Copies set aside for reservations: held, released, or taken off the shelf on collection.

A hold is one conditional UPDATE (``quantity >= held + n``), safe on both
databases without a lock: two readers can never both get the last copy.
A stock snapshot writes ``quantity`` and never ``held``.

Lock order: a workflow that locks a reservation and stock lines locks the
reservation first, then the lines in primary-key order
(``select_for_update(of=("self",))``); moves between two shops then never
deadlock.
"""

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest, Now
from django.db.models.sql import UpdateQuery

from ..exceptions import InsufficientStock
from ..models import StockLine
from ..search import availability_refresh
from .changes import ChangeStamp
from .signals import stock_changed


def _holding(stock_line_id: int, quantity: int):
    """The line, if ``quantity`` more copies can be held on it, and the changes that hold them."""
    queryset = StockLine.objects.filter(pk=stock_line_id, quantity__gte=F("held") + quantity)
    return queryset, {"held": F("held") + quantity, "changed_at": Now(), "stock_version": ChangeStamp()}


def stock_hold(*, stock_line_id: int, quantity: int, line: StockLine | None = None) -> None:
    """Hold ``quantity`` copies of a line, or raise ``InsufficientStock``: one conditional UPDATE.

    ``line``, the line's row (with its shop) when the caller has it loaded, spares ``stock_changed``'s
    receivers their queries.
    """
    queryset, changes = _holding(stock_line_id, quantity)
    if not queryset.update(**changes):
        raise InsufficientStock(stock_line_id=stock_line_id, requested=quantity)
    if line is None or line.pk != stock_line_id:
        line = StockLine.objects.select_related("shop").only("shop", "book_id").get(pk=stock_line_id)
    stock_held(line=line)


def stock_hold_sql(*, stock_line_id: int, quantity: int, condition: str = "TRUE") -> tuple[str, tuple]:
    """``stock_hold``'s UPDATE as SQL ``… RETURNING id``, to run inside a larger statement (a PostgreSQL CTE).

    ``condition`` (SQL, its parameters after the returned ones) must hold too. It updates no row when the
    copies are not there; the caller then raises ``InsufficientStock`` and, when it did, calls ``stock_held``.
    """
    queryset, changes = _holding(stock_line_id, quantity)
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(changes)
    sql, params = query.get_compiler(queryset.db).as_sql()
    return f"{sql} AND ({condition}) RETURNING {connection.ops.quote_name('id')}", tuple(params)


def stock_held(*, line: StockLine) -> None:
    """After copies of ``line`` were held: the book's search document follows, ``stock_changed``'s receivers hear."""
    availability_refresh(book_ids=[line.book_id], shop_id=line.shop_id)
    if stock_changed.has_listeners():
        shop = line.shop if StockLine.shop.is_cached(line) else None
        stock_changed.send(
            sender=StockLine, shop_id=line.shop_id, book_ids=[line.book_id], copies_freed=False, shop=shop
        )


def stock_release(*, shop_id: int, book_id: int, quantity: int, collected: bool = False) -> None:
    """Give held copies back; a collected copy also leaves the shelf until the next snapshot."""
    changes = {"held": Greatest(F("held") - quantity, 0), "changed_at": Now(), "stock_version": ChangeStamp()}
    if collected:
        changes["quantity"] = Greatest(F("quantity") - quantity, 0)
    if StockLine.objects.filter(shop_id=shop_id, book_id=book_id).update(**changes):
        availability_refresh(book_ids=[book_id], shop_id=shop_id)
        # Released copies are back on the shelf; collected ones left with the reader.
        stock_changed.send(sender=StockLine, shop_id=shop_id, book_ids=[book_id], copies_freed=not collected)
