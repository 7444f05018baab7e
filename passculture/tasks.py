"""The pass Culture work done by the task worker: pushing a shop's changed lines, reading one offer's bookings.

The nightly resync and the periodic catch-up run from cron (``passculture_sync``).
"""

from portal.tasks import enqueue_on_commit, task

__all__ = ["bookings_for_offer", "enqueue_on_commit", "push_changes"]


@task()
def push_changes(shop_id: int) -> dict:
    """Send pass Culture the shop's lines marked as changed (the others are unchanged there)."""
    from .services import shop_run_summary, stock_push

    return shop_run_summary(stock_push(shop_id=shop_id, full=False))


@task()
def bookings_for_offer(shop_id: int, offer_id: int) -> dict:
    """Read one offer's bookings at pass Culture and hold or release copies to match (after a notification)."""
    from .services import bookings_offer_sync

    return bookings_offer_sync(shop_id=shop_id, offer_id=offer_id)
