"""Rebuild the summary tables from the reservations, orders and alerts, and each shop's usual confirmation delay."""

import datetime
import time
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncMonth
from django.utils import timezone

from bookshops.models import Shop
from catalogue.models import Book, StockLine
from orders.models import Alert, Order, OrderEvent
from reservations.models import Reservation, ReservationEvent

from .models import (
    DELAY_EDGES_MINUTES,
    AlertMonth,
    BookMonth,
    BookPeriod,
    DelayMonth,
    DelayPeriod,
    DemandPeriod,
    Kind,
    OrderMonth,
    ReferralMonth,
    Refresh,
    ShopMonth,
)
from .selectors import BOOK_PERIOD_TOP, TOP, Scope, default_period, demand_places, percentile_minutes

Status = Reservation.Status


def month_start(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def aware_month_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day.replace(day=1), datetime.time()))


def _month():
    return TruncMonth("created_at", output_field=DateField(), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _bucket(field: str):
    return Case(
        *[
            When(**{f"{field}__lte": datetime.timedelta(minutes=edge)}, then=Value(i))
            for i, edge in enumerate(DELAY_EDGES_MINUTES)
        ],
        default=Value(len(DELAY_EDGES_MINUTES)),
    )


def _outcomes():
    by_reader = ReservationEvent.objects.filter(to_status=Status.CANCELLED, actor=ReservationEvent.Actor.READER).values(
        "reservation_id"
    )
    return {
        "created": Count("pk"),
        "collected": Count("pk", filter=Q(status=Status.COLLECTED)),
        "expired_unconfirmed": Count("pk", filter=Q(status=Status.EXPIRED, confirmed_at__isnull=True)),
        "expired_uncollected": Count("pk", filter=Q(status=Status.EXPIRED, confirmed_at__isnull=False)),
        "cancelled_reader": Count("pk", filter=Q(status=Status.CANCELLED, pk__in=by_reader)),
        "cancelled_shop": Count("pk", filter=Q(status=Status.CANCELLED) & ~Q(pk__in=by_reader)),
        "redirected": Count("pk", filter=Q(status=Status.REDIRECTED)),
        "open": Count("pk", filter=Q(status__in=Reservation.ACTIVE_STATUSES)),
    }


def _reservation_rows(since: datetime.datetime):
    """The summary rows of every reservation made since ``since`` (one grouped query per table)."""
    made = Reservation.objects.filter(created_at__gte=since).annotate(month=_month())
    shop_months = [
        ShopMonth(shop_id=row.pop("shop_id"), month=row.pop("month"), **row)
        for row in made.values("shop_id", "month").annotate(**_outcomes()).order_by()
    ]
    confirm = (
        made.filter(confirmed_at__isnull=False)
        .annotate(delay=ExpressionWrapper(F("confirmed_at") - F("created_at"), output_field=DurationField()))
        .annotate(bucket=_bucket("delay"))
    )
    collect = (
        made.filter(status=Status.COLLECTED)
        .annotate(
            delay=ExpressionWrapper(
                F("closed_at") - Coalesce("confirmed_at", "created_at"), output_field=DurationField()
            )
        )
        .annotate(bucket=_bucket("delay"))
    )
    delays = [
        DelayMonth(
            measure=measure,
            shop_id=row["shop_id"],
            month=row["month"],
            bucket=row["bucket"],
            count=row["n"],
        )
        for measure, queryset in ((DelayMonth.Measure.CONFIRM, confirm), (DelayMonth.Measure.COLLECT, collect))
        for row in queryset.values("shop_id", "month", "bucket").annotate(n=Count("pk")).order_by()
    ]
    referrals = [
        ReferralMonth(
            month=row["month"], from_shop_id=row["referred_by_shop_id"], to_shop_id=row["shop_id"], count=row["n"]
        )
        for row in made.filter(referred_by_shop__isnull=False)
        .values("month", "referred_by_shop_id", "shop_id")
        .annotate(n=Count("pk"))
        .order_by()
    ]
    books = _book_months(Kind.RESERVATION, made.exclude(status=Status.REDIRECTED))
    return shop_months, delays, referrals, books


def _book_months(kind: str, requests) -> list[BookMonth]:
    """The titles wanted through ``requests`` (month-annotated), counted per month and shop department."""
    return [
        BookMonth(
            kind=kind,
            book_id=row["book_id"],
            month=row["month"],
            department=row["shop__department"] or "",
            count=row["n"],
        )
        for row in requests.values("book_id", "month", "shop__department").annotate(n=Count("pk")).order_by()
    ]


def _order_rows(since: datetime.datetime) -> tuple[list, list]:
    """The per-shop monthly outcomes and the wanted titles of the orders made since ``since``."""
    by_reader = OrderEvent.objects.filter(to_status=Order.Status.CANCELLED, actor=OrderEvent.Actor.READER).values(
        "order_id"
    )
    cancelled = Q(status=Order.Status.CANCELLED)
    made = Order.objects.filter(created_at__gte=since).annotate(month=_month())
    outcomes = {
        "created": Count("pk"),
        # Expired before the address was confirmed, or still waiting for it.
        "unconfirmed": Count("pk", filter=Q(email_confirmed_at__isnull=True)),
        "collected": Count("pk", filter=Q(status=Order.Status.COLLECTED)),
        "declined": Count("pk", filter=Q(status=Order.Status.DECLINED)),
        "cancelled_reader": Count("pk", filter=cancelled & Q(pk__in=by_reader)),
        "cancelled_shop": Count("pk", filter=cancelled & ~Q(pk__in=by_reader)),
        "expired_uncollected": Count("pk", filter=Q(status=Order.Status.EXPIRED, email_confirmed_at__isnull=False)),
        "open": Count("pk", filter=Q(status__in=Order.ACTIVE_STATUSES, email_confirmed_at__isnull=False)),
    }
    months = [
        OrderMonth(shop_id=row.pop("shop_id"), month=row.pop("month"), **row)
        for row in made.values("shop_id", "month").annotate(**outcomes).order_by()
    ]
    # An order whose address was never confirmed was never a request to the shop.
    books = _book_months(Kind.ORDER, made.filter(email_confirmed_at__isnull=False))
    return months, books


def _alert_rows(since: datetime.datetime, now: datetime.datetime) -> tuple[list, list]:
    """The monthly outcomes (per chosen shop, or none) and the wanted titles of the alerts made since ``since``."""
    made = Alert.objects.filter(created_at__gte=since).annotate(month=_month())
    ended = Q(fulfilled_at__isnull=False) | Q(unsubscribed_at__isnull=False)
    lapsed = ~ended & (Q(expired_at__isnull=False) | Q(expires_at__lte=now))
    going = ~ended & ~lapsed
    outcomes = {
        "created": Count("pk"),
        "unconfirmed": Count("pk", filter=going & Q(confirmed_at__isnull=True)),
        "fulfilled": Count("pk", filter=Q(fulfilled_at__isnull=False)),
        "unsubscribed": Count("pk", filter=Q(fulfilled_at__isnull=True, unsubscribed_at__isnull=False)),
        "expired": Count("pk", filter=lapsed),
        "watching": Count("pk", filter=going & Q(confirmed_at__isnull=False)),
    }
    months = [
        AlertMonth(shop_id=row.pop("shop_id"), month=row.pop("month"), **row)
        for row in made.values("shop_id", "month").annotate(**outcomes).order_by()
    ]
    # A reader who never confirmed their address asked for nothing.
    books = _book_months(Kind.ALERT, made.filter(confirmed_at__isnull=False))
    return months, books


def book_period_write(*, start: datetime.date, end: datetime.date) -> list[BookPeriod]:
    """Rank the most-wanted titles of ``start``…``end`` for the network and each department, from ``BookMonth``."""
    months = BookMonth.objects.filter(month__gte=start, month__lte=end)
    sums = {
        "reservations": Sum("count", filter=Q(kind=Kind.RESERVATION)),
        "orders": Sum("count", filter=Q(kind=Kind.ORDER)),
        "alerts": Sum("count", filter=Q(kind=Kind.ALERT)),
        "total": Sum("count"),
    }
    rows = []
    # The network's ranking is department ""; a department's leaves out the alerts that belong to none.
    for rows_of, grouping in ((months, []), (months.exclude(department=""), ["department"])):
        ranked = (
            rows_of.values("book_id", *grouping)
            .annotate(**sums)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F(g) for g in grouping] or None,
                    order_by=[F("total").desc(), F("book_id").asc()],
                )
            )
            .filter(rank__lte=BOOK_PERIOD_TOP)
            .order_by()
        )
        for row in ranked:
            rows.append(
                BookPeriod(
                    start=start,
                    end=end,
                    department=row.get("department", ""),
                    book_id=row["book_id"],
                    **{key: row[key] or 0 for key in sums},
                )
            )
    BookPeriod.objects.all().delete()
    BookPeriod.objects.bulk_create(rows, batch_size=2000)
    return rows


def period_write(*, start: datetime.date, end: datetime.date) -> None:
    """Write what the page reads for its default period: ranked titles, delay histograms, readers' places."""
    ranked = book_period_write(start=start, end=end)
    DelayPeriod.objects.all().delete()
    DelayPeriod.objects.bulk_create(
        (
            DelayPeriod(start=start, end=end, **row)
            for row in DelayMonth.objects.filter(month__gte=start, month__lte=end)
            .values("measure", "shop_id", "bucket")
            .annotate(count=Sum("count"))
            .order_by()
        ),
        batch_size=2000,
    )
    by_department: dict[str, list] = {}
    for row in ranked:
        by_department.setdefault(row.department, []).append(row)
    top = {
        row.book_id
        for rows in by_department.values()
        for row in sorted(rows, key=lambda r: (-r.total, r.book_id))[:TOP]
    }
    places = demand_places(Scope(start=start, end=end), top)
    DemandPeriod.objects.all().delete()
    DemandPeriod.objects.bulk_create(
        (
            DemandPeriod(
                start=start,
                end=end,
                book_id=book_id,
                latitude=lat,
                longitude=lon,
                place=place[:200],
                count=n,
                department=department,
            )
            for book_id, rows in places.items()
            for lat, lon, place, n, department in rows
        ),
        batch_size=2000,
    )


def _catalogue_counts() -> dict:
    on_shelf = StockLine.objects.filter(quantity__gt=0)
    return {
        "titles": Book.objects.count(),
        "stock_lines": on_shelf.count(),
        "single_holder_titles": on_shelf.values("book_id").annotate(n=Count("shop_id")).filter(n=1).count(),
        "out_of_print_on_shelf": Book.objects.filter(
            availability=Book.Availability.OUT_OF_PRINT, pk__in=on_shelf.values("book_id")
        ).count(),
    }


def typical_confirm_update(*, now: datetime.datetime) -> int:
    """Write each shop's median confirmation delay of the last months, or none without enough history."""
    since = month_start(now - datetime.timedelta(days=settings.FIGURES_TYPICAL_DELAY_DAYS))
    histograms: dict[int, dict[int, int]] = {}
    for row in (
        DelayMonth.objects.filter(measure=DelayMonth.Measure.CONFIRM, month__gte=since)
        .values("shop_id", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        histograms.setdefault(row["shop_id"], {})[row["bucket"]] = row["n"]
    by_value: dict[int | None, list[int]] = {}
    for shop_id, histogram in histograms.items():
        enough = sum(histogram.values()) >= settings.FIGURES_TYPICAL_DELAY_MIN_COUNT
        by_value.setdefault(percentile_minutes(histogram, 0.5) if enough else None, []).append(shop_id)
    with transaction.atomic():
        Shop.objects.exclude(pk__in=histograms).exclude(typical_confirm_minutes=None).update(
            typical_confirm_minutes=None
        )
        for value, shop_ids in by_value.items():
            Shop.objects.filter(pk__in=shop_ids).update(typical_confirm_minutes=value)
    return sum(len(ids) for value, ids in by_value.items() if value is not None)


def _summaries_exist() -> bool:
    """Whether every kind of request that exists has been summed before (orders came after reservations)."""
    return (
        all(
            summary.objects.exists() or not source.objects.exists()
            for summary, source in ((ShopMonth, Reservation), (OrderMonth, Order), (AlertMonth, Alert))
        )
        and ShopMonth.objects.exists()
    )


def figures_refresh(*, since: datetime.date | None = None, now: datetime.datetime | None = None) -> Refresh:
    """Rebuild the months from ``since`` (by default the last two, or everything the first time)."""
    started = time.monotonic()
    now = now or timezone.now()
    if since is None:
        if _summaries_exist():
            # A request is settled within a few weeks of being made: two months cover every change.
            since = (month_start(now) - datetime.timedelta(days=1)).replace(day=1)
        else:
            firsts = [
                model.objects.aggregate(first=Min("created_at"))["first"] for model in (Reservation, Order, Alert)
            ]
            firsts = [first for first in firsts if first]
            since = month_start(min(firsts)) if firsts else month_start(now)
    since = since.replace(day=1)
    shop_months, delays, referrals, books = _reservation_rows(aware_month_start(since))
    order_months, order_books = _order_rows(aware_month_start(since))
    alert_months, alert_books = _alert_rows(aware_month_start(since), now)
    counts = _catalogue_counts()
    with transaction.atomic():
        for model in (ShopMonth, DelayMonth, BookMonth, ReferralMonth, OrderMonth, AlertMonth):
            model.objects.filter(month__gte=since).delete()
        for model, rows in (
            (ShopMonth, shop_months),
            (DelayMonth, delays),
            (ReferralMonth, referrals),
            (BookMonth, books + order_books + alert_books),
            (OrderMonth, order_months),
            (AlertMonth, alert_months),
        ):
            model.objects.bulk_create(rows, batch_size=2000)
        start, end = default_period(timezone.localdate(now))
        period_write(start=start, end=end)
        typical_confirm_update(now=now)
        refresh = Refresh.objects.create(
            finished_at=timezone.now(), since=since, duration_ms=round((time.monotonic() - started) * 1000), **counts
        )
    return refresh
