"""The reservations' periodic work as tasks; cron runs them through the management commands."""

from portal.tasks import task

from .emails import email_send_pending
from .services import reservations_expire_due, reservations_purge_personal_data


@task()
def expire_due() -> dict:
    """Remind shops, expire what is past its deadline, retry e-mails left pending (every few minutes)."""
    return {**reservations_expire_due(), "emails": email_send_pending()}


@task()
def purge_personal_data(days: int | None = None) -> int:
    """Anonymise reservations closed for longer than the retention period (daily)."""
    return reservations_purge_personal_data(days=days)
