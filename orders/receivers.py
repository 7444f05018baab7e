"""What orders and alerts do when a shop's stock changes (``catalogue.stock.signals.stock_changed``) or an
announced book comes out (``catalogue.signals.books_released``), and the shop's orders on the counter of the
day (``reservations.selectors.counter_panels``)."""

from django.dispatch import receiver

from catalogue.signals import books_released
from catalogue.stock.signals import stock_changed
from portal.tasks import enqueue_on_commit
from reservations.selectors import counter_panels

from .models import Order
from .selectors import orders_counter_panel
from .tasks import books_released_follow_up, stock_changed_follow_up


@receiver(stock_changed, dispatch_uid="orders.stock_changed")
def _on_stock_changed(sender, *, shop_id: int, book_ids, copies_freed: bool = True, **kwargs):
    book_ids = sorted({int(pk) for pk in book_ids})
    if book_ids and copies_freed:  # a hold or a collection frees nothing an alert or an order waits for
        enqueue_on_commit(stock_changed_follow_up, shop_id, book_ids)


@receiver(books_released, dispatch_uid="orders.books_released")
def _on_books_released(sender, *, book_ids, **kwargs):
    """A book announced at the publisher is out: the alerts that a shop near the reader now answers fire."""
    enqueue_on_commit(books_released_follow_up, sorted({int(pk) for pk in book_ids}))


@receiver(counter_panels, dispatch_uid="orders.counter_panels")
def _counter_panel(sender, *, request, shops, now, **kwargs):
    """The shop's orders on the bookseller's counter, beside the reservations."""
    if not request.user.has_perm("orders.view_order"):
        return None
    return orders_counter_panel(
        orders=Order.objects.filter(shop__in=shops), now=now, can_change=request.user.has_perm("orders.change_order")
    )
