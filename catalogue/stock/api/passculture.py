"""The pass Culture supplier format: a shop's stock, page by page, by EAN-13."""

import datetime
import re

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from catalogue.models import StockLine

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


class BadParameter(ValueError):
    """A query parameter that cannot be used; the message says which and why."""


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter(_("limit doit être un entier de 1 à %(max)s.") % {"max": MAX_LIMIT})
    return int(raw)


def parse_after(raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    if not re.fullmatch(r"[0-9]{1,13}", raw):
        raise BadParameter(_("after doit être la référence (EAN-13) de la dernière ligne reçue."))
    return raw


def parse_modified_since(raw: str | None) -> datetime.datetime | None:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    if raw in (None, ""):
        return None
    # An unencoded "+01:00" arrives as " 01:00" once the query string is decoded.
    value = re.sub(r" (\d{2}(:?\d{2})?)$", r"+\1", raw.strip())
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.datetime.combine(day, datetime.time()) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise BadParameter(_("modifiedSince doit être une date ISO 8601, par exemple 2025-01-31T08:00:00Z."))
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def passculture_stock_page(*, shop, limit: int, after: str | None, modified_since: datetime.datetime | None) -> dict:
    """One page of a shop's lines in the pass Culture format, ordered by EAN-13.

    Every line the shop has is sent, zeros included: pass Culture only
    updates the references it receives, so a title gone from the shelf must
    be told as 0, whether or not ``modifiedSince`` is given.
    """
    lines = StockLine.objects.filter(shop=shop)
    if modified_since is not None:
        lines = lines.filter(changed_at__gte=modified_since)
    if after is None:
        counts = {**lines.aggregate(total=Count("pk")), "offset": 0}
    else:
        counts = lines.aggregate(total=Count("pk"), offset=Count("pk", filter=Q(book__isbn__lte=after)))
    page = lines.annotate_available().order_by("book__isbn")
    if after is not None:
        page = page.filter(book__isbn__gt=after)
    rows = page.values_list("book__isbn", "available", "price")[:limit]
    return {
        "total": counts["total"],
        "limit": limit,
        "offset": counts["offset"],
        "stocks": [
            {"ref": isbn, "available": available, "price": float(price) if price is not None else None}
            for isbn, available, price in rows
        ],
    }
