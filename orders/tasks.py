"""Background work of orders and alerts."""

from portal.tasks import task

from .emails import order_emails_send_pending
from .services import alerts_expire_due, alerts_match, orders_expire_due, orders_notice_stock


@task()
def stock_changed_follow_up(shop_id: int, book_ids: list[int]) -> dict:
    """After a shop's lines changed: fire the alerts a copy now answers, tell the shop of orders it now holds."""
    return {
        "alerts_fired": alerts_match(book_ids=book_ids),
        "orders_noticed": orders_notice_stock(shop_id=shop_id, book_ids=book_ids),
    }


@task()
def books_released_follow_up(book_ids: list[int]) -> dict:
    """After a feed made announced books available: fire the alerts a shop near the reader answers."""
    return {"alerts_fired": alerts_match(book_ids=book_ids)}


@task()
def expire_due() -> dict:
    """Expire stale orders and alerts, retry e-mails left pending (cron, every few minutes)."""
    return {**orders_expire_due(), "alerts_expired": alerts_expire_due(), "emails": order_emails_send_pending()}
