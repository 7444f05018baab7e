"""E-mails about orders and alerts: queued with the change, rendered and sent by a task after commit, retried.

The same outbox as the reservations' e-mails (``portal.tasks``); plain-text messages.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal.tasks import enqueue_on_commit, outbox_catch_up, outbox_run, task

from .models import Alert, Order, OrderEmail

SUBJECTS = {
    # to the reader, in their language
    "confirm_address": _("Confirmez votre commande %(reference)s"),
    "received": _("Votre commande %(reference)s est transmise à la librairie"),
    "accepted": _("Votre commande %(reference)s est commandée"),
    "arrived": _("Votre commande %(reference)s est arrivée en librairie"),
    "collected": _("Commande %(reference)s retirée, merci !"),
    "declined": _("Votre commande %(reference)s ne peut pas être honorée"),
    "cancelled": _("Votre commande %(reference)s est annulée"),
    "expired": _("Votre commande %(reference)s a expiré"),
    "alert_confirm": _("Confirmez votre alerte pour « %(title)s »"),
    "alert_available": _("« %(title)s » est disponible près de chez vous"),
    "alert_expired": _("Votre alerte pour « %(title)s » a pris fin"),
    # to the shop, in French
    "shop_new": _("Nouvelle commande %(reference)s : %(title)s"),
    "shop_cancelled": _("Commande %(reference)s annulée par le lecteur"),
    "shop_in_stock": _("Commande %(reference)s : le livre est dans votre stock"),
}
SHOP_KINDS = {"shop_new", "shop_cancelled", "shop_in_stock"}


def order_email_queue(*, order: Order, kinds: list[str], extra: dict | None = None) -> list[OrderEmail]:
    """Put e-mails about ``order`` into the outbox; a task renders and sends them after commit."""
    emails = []
    for kind in kinds:
        if kind in SHOP_KINDS:
            to, language = order.shop.email, settings.LANGUAGE_CODE
        else:
            to, language = order.reader_email, order.language
        if to:
            emails.append(OrderEmail(order=order, kind=kind, to=to, language=language, context=extra or {}))
    return _queue(emails)


def alert_email_queue(*, alert: Alert, kind: str, extra: dict | None = None) -> list[OrderEmail]:
    return _queue(
        [OrderEmail(alert=alert, kind=kind, to=alert.reader_email, language=alert.language, context=extra or {})]
    )


def alerts_email_queue(*, items: list[tuple[Alert, dict]], kind: str = "alert_available") -> list[OrderEmail]:
    """The same e-mail about many alerts at once (one insert, one task)."""
    return _queue(
        [
            OrderEmail(alert=alert, kind=kind, to=alert.reader_email, language=alert.language, context=extra)
            for alert, extra in items
        ]
    )


def _queue(emails: list[OrderEmail]) -> list[OrderEmail]:
    if emails:
        OrderEmail.objects.bulk_create(emails)
        enqueue_on_commit(order_emails_send, [e.pk for e in emails])
    return emails


def _render(email: OrderEmail) -> None:
    subject_values = {"reference": "", "title": ""}
    base_url = settings.RESERVATIONS_LINK_BASE_URL.rstrip("/")
    context = dict(email.context, base_url=base_url)
    for holder in context.get("holders", []):
        holder["reserve_url"] = base_url + reverse("reservations:new", args=[holder["line_id"]])
    if email.order_id:
        order = email.order
        context.update(
            order=order,
            shop=order.shop,
            book=order.book,
            link=order.get_reader_absolute_url(),
            confirm_link=order.get_confirm_absolute_url(),
        )
        subject_values = {"reference": order.reference, "title": order.book.title[:150]}
    elif email.alert_id:
        alert = email.alert
        context.update(
            alert=alert, book=alert.book, confirm_link=alert.confirm_url(), unsubscribe_link=alert.unsubscribe_url()
        )
        subject_values["title"] = alert.book.title[:150]
    else:
        raise ValueError("the order or alert was deleted")
    context["book_url"] = base_url + context["book"].get_absolute_url()
    with translation.override(email.language):
        # One line whatever the title holds: a header cannot carry a line break.
        email.subject = " ".join((str(SUBJECTS[email.kind]) % subject_values).split())[:300]
        email.body_text = render_to_string(f"orders/email/{email.kind}.txt", context)


def _deliver(email: OrderEmail) -> None:
    if not email.body_text:
        _render(email)
    headers = {}
    if email.alert_id:
        headers["List-Unsubscribe"] = f"<{email.alert.unsubscribe_url()}>"
    EmailMessage(email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL, [email.to], headers=headers).send()


@task()
def order_emails_send(email_ids: list[int]) -> dict:
    """Render and send these e-mails (those still pending); a failure is retried later."""
    return outbox_run(
        OrderEmail, email_ids, _deliver, max_attempts=settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS, retry=order_emails_send
    )


def order_emails_send_pending(*, now=None) -> dict:
    """The cron safety net: send every e-mail still pending, here and now."""
    counts = outbox_catch_up(OrderEmail, _deliver, max_attempts=settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS, now=now)
    return {"sent": counts["done"], "failed": counts["failed"]}
