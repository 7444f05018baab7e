"""What orders and alerts do when a shop's stock changes (``catalogue.stock.signals.stock_changed``)."""

from django.dispatch import receiver

from catalogue.stock.signals import stock_changed
from portal.tasks import enqueue_on_commit

from .tasks import stock_changed_follow_up


@receiver(stock_changed, dispatch_uid="orders.stock_changed")
def _on_stock_changed(sender, *, shop_id: int, book_ids, **kwargs):
    book_ids = sorted({int(pk) for pk in book_ids})
    if book_ids:
        enqueue_on_commit(stock_changed_follow_up, shop_id, book_ids)
