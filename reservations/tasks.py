"""The reservations' periodic work as tasks; cron runs them through the management commands."""

from portal.tasks import task

from .digest import reservations_digest_send
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


@task()
def send_digest() -> int:
    """The daily digest of reservations to set aside, to the shops that chose it (every morning)."""
    return reservations_digest_send()
