"""Deadlines counted in a shop's opening days, closures skipped."""

import datetime

from django.conf import settings
from django.utils import timezone

from bookshops.models import crosses_midnight

#: How far ahead to look for opening days before giving up on a shop's hours.
SEARCH_DAYS = 400


def _day_end(ranges, day: datetime.date) -> datetime.datetime:
    """When the shop closes on ``day`` (its last range), as an aware datetime."""
    tz = timezone.get_current_timezone()
    if any(crosses_midnight(opens, closes) for opens, closes in ranges):
        # The day's last range ends after midnight: the whole day counts.
        end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
    else:
        end = datetime.datetime.combine(day, max(closes for _opens, closes in ranges))
    return timezone.make_aware(end, tz)


class ShopCalendar:
    """A shop's weekly hours and closures, loaded once and kept per process (``ShopCalendar.of``)."""

    #: shop id -> (the shop's calendar key, its calendar); replaced when the key changes.
    _cache: dict[int, tuple[tuple, "ShopCalendar"]] = {}

    def __init__(self, shop):
        # Plain tuples: this runs on every reservation, model instances cost more than the query.
        self.by_weekday: dict[int, list] = {}
        for weekday, opens, closes in shop.opening_hours.values_list("weekday", "opens", "closes"):
            self.by_weekday.setdefault(weekday, []).append((opens, closes))
        self.closures = list(shop.closures.values_list("start_date", "end_date"))

    @classmethod
    def of(cls, shop) -> "ShopCalendar":
        """The calendar of ``shop`` as its row (loaded by the caller) says it is now: no query while unchanged.

        Any write to its hours or closures bumps ``shop.calendar_version`` (a trigger), so every process
        sees the change with the next shop row it loads; ``created_at`` tells apart a shop that reuses a
        deleted one's id.
        """
        key = (shop.calendar_version, shop.created_at)
        cached = cls._cache.get(shop.pk)
        if cached is not None and cached[0] == key:
            return cached[1]
        calendar = cls(shop)
        cls._cache[shop.pk] = (key, calendar)
        return calendar

    def after(self, start: datetime.datetime, days: int) -> datetime.datetime:
        """The closing time of the ``days``-th opening day after ``start``'s day.

        The day of ``start`` itself does not count: a copy set aside on Friday
        with two days' hold waits through Saturday and the next opening day.
        A shop with no opening hours at all counts calendar days.
        """
        day = timezone.localtime(start).date()
        if not self.by_weekday:
            return timezone.make_aware(
                datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time(23, 59, 59))
            )
        counted = 0
        for _step in range(SEARCH_DAYS):
            day += datetime.timedelta(days=1)
            ranges = self.by_weekday.get(day.weekday())
            if not ranges or any(first <= day <= last for first, last in self.closures):
                continue
            counted += 1
            if counted == days:
                return _day_end(ranges, day)
        # Closed for more than a year: fall back to calendar days rather than never.
        return start + datetime.timedelta(days=days)


def opening_days_after(shop, start: datetime.datetime, days: int) -> datetime.datetime:
    """The closing time of the ``days``-th opening day after ``start``'s day (see ``ShopCalendar.after``)."""
    return ShopCalendar.of(shop).after(start, days)


def request_deadlines(shop, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """(confirm_by, remind_at) of a reservation requested at ``shop`` at ``now``."""
    calendar = ShopCalendar.of(shop)
    return (
        calendar.after(now, settings.RESERVATIONS_CONFIRM_OPENING_DAYS),
        calendar.after(now, settings.RESERVATIONS_REMIND_OPENING_DAYS),
    )
