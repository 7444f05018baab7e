"""The pass Culture work that runs in the background: pushes, full resyncs, bookings of one offer."""

from functools import partial

from django.db import transaction

try:
    from portal.tasks import enqueue_on_commit, task
except ImportError:  # pragma: no cover - until the `tasks` branch (Django's Tasks API) reaches main
    class _InProcessTask:
        """Stands for a Tasks API task: ``enqueue`` runs it at once (after commit, through ``enqueue_on_commit``)."""

        def __init__(self, func):
            self.func, self.name = func, func.__name__

        def enqueue(self, *args):
            return self.func(*args)

        call = enqueue

    def task(**_options):
        return _InProcessTask

    def enqueue_on_commit(task_, *args) -> None:
        transaction.on_commit(partial(task_.enqueue, *args))


__all__ = ["bookings_for_offer", "enqueue_on_commit", "push_changes", "sync_full"]


@task()
def push_changes(shop_id: int) -> dict:
    """Send pass Culture the shop's lines marked as changed (the others are unchanged there)."""
    from .services import shop_run_summary, stock_push

    return shop_run_summary(stock_push(shop_id=shop_id, full=False))


@task()
def sync_full(shop_id: int) -> dict:
    """Send every line of the shop, then list its bookings: the nightly resync."""
    from .services import bookings_sync, shop_run_summary, stock_push

    return {"push": shop_run_summary(stock_push(shop_id=shop_id, full=True)),
            "bookings": shop_run_summary(bookings_sync(shop_id=shop_id))}


@task()
def bookings_for_offer(shop_id: int, offer_id: int) -> dict:
    """Read one offer's bookings at pass Culture and hold or release copies to match (after a notification)."""
    from .services import bookings_offer_sync

    return bookings_offer_sync(shop_id=shop_id, offer_id=offer_id)
