"""A plausible past year of reservations for the demo network, made through the reservation services.

December peaks, shops differ (busy or quiet, quick or slow to confirm, some let reservations expire),
booksellers send some readers to a colleague. Seeded: two runs give the same history.
"""

import datetime
import random

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from catalogue.models import StockLine
from reservations import services
from reservations.exceptions import REFUSALS

from .services import figures_refresh

SEED = 2017
#: Reservations over the year; kept small so a fresh install stays quick to load.
RESERVATIONS = 180
#: Relative activity per calendar month (January first): the rush before Christmas, a quiet August.
SEASON = [0.7, 0.6, 0.7, 0.7, 0.8, 0.8, 0.6, 0.45, 0.9, 0.9, 1.1, 2.2]


def _moments(rng, now, count):
    """``count`` request moments over the last year, by season, at shop-ish hours (Paris)."""
    start = timezone.localtime(now) - datetime.timedelta(days=365)
    days = [start.date() + datetime.timedelta(days=d) for d in range(1, 362)]
    weights = [SEASON[day.month - 1] for day in days]
    picked = sorted(rng.choices(days, weights=weights, k=count))
    return [
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randrange(9, 21), rng.randrange(60))))
        for day in picked
    ]


def demo_history_create(*, shops, now: datetime.datetime | None = None) -> int:
    """Make a year of reservations at ``shops`` ending before ``now``; returns how many were made."""
    # Up to today's midnight: two loads the same day make the same history.
    now = now or timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(SEED)
    shops = [shop for shop in shops if shop.takes_reservations]
    if len(shops) < 2:
        return 0
    # Each shop: how busy, how quick to confirm (hours), how often it lets a request lapse.
    busy = {shop.pk: rng.lognormvariate(0, 0.6) for shop in shops}
    speed = {shop.pk: max(0.1, shop.pickup_delay_hours * rng.uniform(0.3, 1.5)) for shop in shops}
    lapses = {shop.pk: rng.choice([0.02, 0.04, 0.06, 0.15]) for shop in shops}
    lines = {}
    for line in StockLine.objects.filter(shop__in=shops, quantity__gte=3).select_related("shop", "book").order_by("pk"):
        lines.setdefault(line.shop_id, []).append(line)
    shops = [shop for shop in shops if lines.get(shop.pk)]
    made = 0
    # Demo readers get no e-mail: the history's messages are sent to a backend that drops them.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        for index, moment in enumerate(_moments(rng, now, RESERVATIONS)):
            shop = rng.choices(shops, weights=[busy[s.pk] for s in shops])[0]
            line = rng.choice(lines[shop.pk])
            try:
                reservation = services.reservation_create(
                    stock_line=line,
                    quantity=1,
                    reader_name=f"Lecteur {index + 1}",
                    reader_email=f"lecteur{index + 1}@demo.example.org",
                    now=moment,
                )
            except REFUSALS:
                continue
            made += 1
            _live(rng, reservation, moment, now, speed[shop.pk], lapses[shop.pk], lines)
    figures_refresh(now=now)
    return made


def _live(rng, reservation, moment, now, speed_hours, lapse, lines):
    """Take one reservation through a plausible life, stopping at ``now`` (recent ones stay open)."""
    roll = rng.random()
    confirmed_at = moment + datetime.timedelta(hours=rng.expovariate(1 / speed_hours))
    try:
        if roll < lapse:  # never confirmed
            if reservation.confirm_by <= now:
                services.reservation_expire(reservation=reservation, now=reservation.confirm_by)
            return
        if roll < lapse + 0.04:
            if confirmed_at < now:
                services.reservation_cancel(reservation=reservation, reason="", by_reader=True, now=confirmed_at)
            return
        if roll < lapse + 0.06:
            if confirmed_at < now:
                services.reservation_cancel(reservation=reservation, reason="Exemplaire abîmé", now=confirmed_at)
            return
        if roll < lapse + 0.11:  # sent to a colleague's shop that has the book
            others = [
                l
                for shop_lines in lines.values()
                for l in shop_lines
                if l.book_id == reservation.book_id and l.shop_id != reservation.shop_id
            ]
            if others and confirmed_at < now:
                services.reservation_move_to_shop(
                    reservation=reservation, shop=rng.choice(others).shop, now=confirmed_at
                )
            return
        if confirmed_at >= now:
            return
        services.reservation_confirm(reservation=reservation, now=confirmed_at)
        if rng.random() < 0.1:  # not collected in time
            if reservation.pickup_deadline <= now:
                services.reservation_expire(reservation=reservation, now=reservation.pickup_deadline)
            return
        collected_at = confirmed_at + datetime.timedelta(hours=rng.uniform(2, 24 * 6))
        if collected_at < min(now, reservation.pickup_deadline):
            services.reservation_collect(reservation=reservation, now=collected_at)
    except REFUSALS:
        pass  # a copy gone meanwhile: the reservation simply stays as it is
