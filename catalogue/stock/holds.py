"""Copies set aside for reservations: held, released, or taken off the shelf on collection.

A hold is one conditional UPDATE (``quantity >= held + n``), safe on both
databases without a lock: two readers can never both get the last copy.
A stock snapshot writes ``quantity`` and never ``held``.

Lock order: a workflow that locks a reservation and stock lines locks the
reservation first, then the lines in primary-key order
(``select_for_update(of=("self",))``); moves between two shops then never
deadlock.
"""

from django.db.models import F
from django.db.models.functions import Greatest, Now

from ..exceptions import InsufficientStock
from ..models import StockLine
from ..search import availability_refresh
from .changes import ChangeStamp
from .signals import stock_changed


def stock_hold(*, stock_line_id: int, quantity: int) -> None:
    """Hold ``quantity`` copies of a line, or raise ``InsufficientStock``: one conditional UPDATE."""
    updated = StockLine.objects.filter(pk=stock_line_id, quantity__gte=F("held") + quantity).update(
        held=F("held") + quantity, changed_at=Now(), stock_version=ChangeStamp()
    )
    if not updated:
        raise InsufficientStock(stock_line_id=stock_line_id, requested=quantity)
    shop_id, book_id = StockLine.objects.values_list("shop_id", "book_id").get(pk=stock_line_id)
    availability_refresh(book_ids=[book_id], shop_id=shop_id)
    if stock_changed.has_listeners():
        stock_changed.send(sender=StockLine, shop_id=shop_id, book_ids=[book_id], copies_freed=False)


def stock_release(*, shop_id: int, book_id: int, quantity: int, collected: bool = False) -> None:
    """Give held copies back; a collected copy also leaves the shelf until the next snapshot."""
    changes = {"held": Greatest(F("held") - quantity, 0), "changed_at": Now(), "stock_version": ChangeStamp()}
    if collected:
        changes["quantity"] = Greatest(F("quantity") - quantity, 0)
    if StockLine.objects.filter(shop_id=shop_id, book_id=book_id).update(**changes):
        availability_refresh(book_ids=[book_id], shop_id=shop_id)
        # Released copies are back on the shelf; collected ones left with the reader.
        stock_changed.send(sender=StockLine, shop_id=shop_id, book_ids=[book_id], copies_freed=not collected)
