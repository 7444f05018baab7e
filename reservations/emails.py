"""E-mails about reservations: queued with the change, rendered and sent by a task after commit, retried."""

import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal.tasks import enqueue_on_commit, outbox_catch_up, outbox_run, task
from portal.textfiles import clean_text

from .models import OutgoingEmail, Reservation

#: kind -> subject; the reader's kinds are written in the reader's language.
READER_SUBJECTS = {
    "received": _("Votre réservation %(reference)s est enregistrée"),
    "ready": _("Votre réservation %(reference)s vous attend en librairie"),
    "collected": _("Réservation %(reference)s retirée, merci !"),
    "cancelled": _("Votre réservation %(reference)s est annulée"),
    "expired": _("Votre réservation %(reference)s a expiré"),
    "redirected": _("Votre réservation %(reference)s est transférée vers une autre librairie"),
}
SHOP_SUBJECTS = {
    "shop_new": _("Nouvelle réservation %(reference)s : %(title)s"),
    "shop_reminder": _("Rappel : réservation %(reference)s à confirmer"),
    "shop_cancelled": _("Réservation %(reference)s annulée par le lecteur"),
}


def _intent(reservation: Reservation, kind: str, context: dict) -> OutgoingEmail | None:
    if kind in READER_SUBJECTS:
        language, to = reservation.language, reservation.reader_email
    else:
        language, to = settings.LANGUAGE_CODE, reservation.shop.email
        if kind == "shop_new" and not reservation.shop.wants_each_reservation_email:
            return None  # the shop reads its daily digest instead
    if not to:  # no shop address, or a phone-only reader: the shop calls them
        return None
    return OutgoingEmail(reservation=reservation, kind=kind, to=to, language=language, context=context)


def email_queue(*, reservation: Reservation, kinds: list[str], extra: dict | None = None) -> list[OutgoingEmail]:
    """Put e-mails about ``reservation`` into the outbox; a task renders and sends them once the transaction commits.

    ``extra`` holds what the templates need beside the reservation, as JSON values (ids, not objects).
    """
    emails = email_intents(reservation=reservation, kinds=kinds, extra=extra)
    if emails:
        OutgoingEmail.objects.bulk_create(emails)
        email_enqueue(email_ids=[e.pk for e in emails])
    return emails


def email_intents(*, reservation: Reservation, kinds: list[str], extra: dict | None = None) -> list[OutgoingEmail]:
    """The outbox rows ``email_queue`` would write (unsaved): kinds with no recipient are left out."""
    return [e for e in (_intent(reservation, kind, extra or {}) for kind in kinds) if e is not None]


def email_enqueue(*, email_ids: list[int]) -> None:
    """Have these outbox rows, written in the current transaction, rendered and sent once it commits."""
    enqueue_on_commit(emails_send, email_ids)


def _render(email: OutgoingEmail) -> None:
    reservation = email.reservation
    if reservation is None:
        raise ValueError("the reservation was deleted")
    subjects = READER_SUBJECTS if email.kind in READER_SUBJECTS else SHOP_SUBJECTS
    shop = reservation.shop
    context = {
        "reservation": reservation,
        "shop": shop,
        "book": reservation.book,
        "link": reservation.get_reader_absolute_url(),
        # Lazy: only the templates that show the hours query them.
        "opening_hours": shop.opening_hours.all(),
        **email.context,
    }
    with translation.override(email.language):
        email.subject = str(subjects[email.kind]) % {
            # One line: a line break from a shop's file would make the header unsendable.
            "reference": reservation.reference,
            "title": clean_text(reservation.book.title)[:150],
        }
        email.body_text = render_to_string(f"reservations/email/{email.kind}.txt", context)
        email.body_html = render_to_string(f"reservations/email/{email.kind}.html", context)


def _deliver(email: OutgoingEmail) -> None:
    if not email.body_text:
        _render(email)
    message = EmailMultiAlternatives(email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL, [email.to])
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    message.send()


@task()
def emails_send(email_ids: list[int]) -> dict:
    """Render and send these outbox e-mails (those still pending); a failure is retried later."""
    return outbox_run(
        OutgoingEmail, email_ids, _deliver, max_attempts=settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS, retry=emails_send
    )


def email_send_pending(*, now: datetime.datetime | None = None) -> dict:
    """Send every e-mail still pending (failed, or left by a stopped worker) here and now; {"sent": n, "failed": n}."""
    counts = outbox_catch_up(OutgoingEmail, _deliver, max_attempts=settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS, now=now)
    return {"sent": counts["done"], "failed": counts["failed"]}
