"""E-mails about reservations: rendered with the change, sent after commit, retried."""

import datetime
import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from portal.textfiles import clean_text

from .models import OutgoingEmail, Reservation

logger = logging.getLogger(__name__)

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
#: Sending is not retried before this age, so the first attempt (after commit) runs alone.
RETRY_AFTER = datetime.timedelta(minutes=1)


def _context(reservation: Reservation, extra: dict) -> dict:
    shop = reservation.shop
    return {
        "reservation": reservation,
        "shop": shop,
        "book": reservation.book,
        "link": reservation.get_reader_absolute_url(),
        # Lazy: only the templates that show the hours query them.
        "opening_hours": shop.opening_hours.all(),
        **extra,
    }


def _render(reservation: Reservation, kind: str, context: dict) -> OutgoingEmail | None:
    if kind in READER_SUBJECTS:
        language, to, subject = reservation.language, reservation.reader_email, READER_SUBJECTS[kind]
    else:
        language, to, subject = settings.LANGUAGE_CODE, reservation.shop.email, SHOP_SUBJECTS[kind]
    if not to:
        return None
    with translation.override(language):
        return OutgoingEmail(
            reservation=reservation,
            kind=kind,
            to=to,
            # One line: a line break from a shop's file would make the header unsendable.
            subject=str(subject) % {"reference": reservation.reference, "title": clean_text(reservation.book.title)[:150]},
            body_text=render_to_string(f"reservations/email/{kind}.txt", context),
            body_html=render_to_string(f"reservations/email/{kind}.html", context),
        )


def email_render(*, reservation: Reservation, kinds: list[str], extra: dict | None = None) -> list[OutgoingEmail]:
    """Render e-mails about ``reservation`` (not saved yet: see ``email_enqueue``)."""
    context = _context(reservation, extra or {})
    return [e for e in (_render(reservation, kind, context) for kind in kinds) if e is not None]


def email_enqueue(*, emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    """Save rendered e-mails into the outbox; they are sent once the transaction commits."""
    if emails:
        OutgoingEmail.objects.bulk_create(emails)
        transaction.on_commit(partial(_send_batch, emails))
    return emails


def email_queue(*, reservation: Reservation, kinds: list[str], extra: dict | None = None) -> list[OutgoingEmail]:
    """Render e-mails about ``reservation`` into the outbox; they are sent once the transaction commits."""
    return email_enqueue(emails=email_render(reservation=reservation, kinds=kinds, extra=extra))


def _send_batch(emails: list[OutgoingEmail]) -> None:
    sent = [e.pk for e in emails if _send(e, record_success=False)]
    if sent:
        OutgoingEmail.objects.filter(pk__in=sent, sent_at__isnull=True).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1
        )


def _send(email: OutgoingEmail, *, record_success: bool = True) -> bool:
    message = EmailMultiAlternatives(email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL, [email.to])
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    now = timezone.now()
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure is recorded, never raised
        attempts = email.attempts + 1
        gave_up = now if attempts >= settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS else None
        OutgoingEmail.objects.filter(pk=email.pk).update(
            attempts=attempts, failed_at=now, last_error=f"{type(exc).__name__}: {exc}"[:2000], gave_up_at=gave_up
        )
        log = logger.error if gave_up else logger.warning
        log("e-mail %s (%s to %s) not sent, attempt %s: %s", email.pk, email.kind, email.to, attempts, exc)
        return False
    if record_success:
        OutgoingEmail.objects.filter(pk=email.pk).update(sent_at=now, attempts=email.attempts + 1)
    return True


def email_send_pending(*, now: datetime.datetime | None = None) -> dict:
    """Retry every e-mail not sent yet; returns {"sent": n, "failed": n}."""
    now = now or timezone.now()
    ids = list(
        OutgoingEmail.objects.pending()
        .filter(Q(attempts__gt=0) | Q(created_at__lte=now - RETRY_AFTER)).order_by("pk").values_list("pk", flat=True)
    )
    sent = failed = 0
    for pk in ids:
        with transaction.atomic():
            # A second run at the same time skips the rows this one is sending.
            email = (
                OutgoingEmail.objects.select_for_update(skip_locked=True).pending().filter(pk=pk).first()
            )
            if email is None:
                continue
            if _send(email):
                sent += 1
            else:
                failed += 1
    return {"sent": sent, "failed": failed}
