"""The pause switch: no new reservation at a shop while the network or the shop is paused."""

import datetime

from django.core.cache import cache
from django.utils import timezone

from .exceptions import ReservationsPaused
from .models import ReservationPause

#: Pages read the pauses in force from the cache; the services always ask the database.
CACHE_KEY = "reservations:pauses-in-force"
CACHE_SECONDS = 60


def reservation_pause_check(*, shop, now: datetime.datetime | None = None) -> None:
    """Refuse a new reservation at ``shop`` while a pause is in force there (``ReservationsPaused``)."""
    pause = ReservationPause.objects.in_force(now or timezone.now()).for_shop(shop.pk).order_by("shop_id").first()
    if pause is not None:
        raise ReservationsPaused(pause=pause, shop=shop)


def pauses_in_force() -> list[ReservationPause]:
    """The pauses in force now (and starting within the cache's lifetime), for pages; cached briefly."""
    pauses = cache.get(CACHE_KEY)
    if pauses is None:
        now = timezone.now()
        pauses = list(ReservationPause.objects.overlapping(now, now + datetime.timedelta(seconds=CACHE_SECONDS)))
        cache.set(CACHE_KEY, pauses, CACHE_SECONDS)
    return pauses


def pause_for_shop(shop, now: datetime.datetime | None = None) -> ReservationPause | None:
    """The pause readers see at ``shop`` now (the network's first), or None."""
    now = now or timezone.now()
    found = [
        p
        for p in pauses_in_force()
        if p.shop_id in (None, shop.pk) and p.starts_at <= now and (p.ends_at is None or p.ends_at > now)
    ]
    return min(found, key=lambda p: p.shop_id is not None) if found else None


def pauses_changed() -> None:
    """Forget the cached pauses after one is added, changed or removed."""
    cache.delete(CACHE_KEY)
