"""The daily digest of reservations to set aside, for shops that chose it over (or beside) one e-mail each."""

import datetime

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from bookshops.models import Shop
from portal.tasks import enqueue_on_commit

from .emails import emails_send
from .models import OutgoingEmail, Reservation


def reservations_digest_send(*, now: datetime.datetime | None = None) -> int:
    """One e-mail per shop that wants a digest, once a local day, listing what it has to set aside."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    shops = Shop.objects.active().exclude(reservation_notices=Shop.ReservationNotices.EACH).exclude(email="")
    for shop in shops.order_by("pk"):
        with transaction.atomic():
            locked = Shop.objects.select_for_update().get(pk=shop.pk)
            last = locked.reservation_digest_sent_at
            if last is not None and timezone.localdate(last) >= today:
                continue  # already sent today (or another run is sending it)
            pending = list(Reservation.objects.filter(shop=locked).to_set_aside().select_related("book"))
            locked.reservation_digest_sent_at = now
            locked.save(update_fields=["reservation_digest_sent_at"])
            if not pending:
                continue
            email = _render_digest(locked, pending, since=last, now=now)
            email.save()
            # Rendered here (it lists many reservations): the task only sends it, and retries.
            enqueue_on_commit(emails_send, [email.pk])
            sent += 1
    return sent


def _render_digest(shop: Shop, pending: list[Reservation], *, since, now) -> OutgoingEmail:
    base = settings.RESERVATIONS_LINK_BASE_URL.rstrip("/")
    context = {
        "shop": shop,
        "pending": pending,
        "since": since,
        "now": now,
        "counter_url": base + reverse("admin:reservations_counter"),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = ngettext(
            "%(count)d réservation à mettre de côté — %(shop)s",
            "%(count)d réservations à mettre de côté — %(shop)s",
            len(pending),
        ) % {"count": len(pending), "shop": shop.name}
        return OutgoingEmail(
            kind="shop_digest",
            to=shop.email,
            language=settings.LANGUAGE_CODE,
            subject=subject[:300],
            body_text=render_to_string("reservations/email/shop_digest.txt", context),
            body_html=render_to_string("reservations/email/shop_digest.html", context),
        )
