"""Reads for the booksellers' counter: the shop's orders waiting for its next step."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reservations.selectors import SECTION_LIMIT, CounterPanel

from .models import Order

Status = Order.Status

#: The orders' sections on the counter, in the order a bookseller works through them:
#: key -> (status, title, when empty, sort).
ORDER_SECTIONS = {
    "orders_to_answer": (
        Status.REQUESTED,
        _("Commandes à traiter"),
        _("Aucune commande en attente de réponse."),
        ("email_confirmed_at", "pk"),
    ),
    "orders_on_order": (
        Status.ACCEPTED,
        _("Commandées, attendues du distributeur"),
        _("Aucune commande en route."),
        ("expected_on", "pk"),
    ),
    "orders_arrived": (
        Status.ARRIVED,
        _("Commandes arrivées, en attente du lecteur"),
        _("Aucune commande arrivée en attente."),
        ("pickup_deadline", "pk"),
    ),
}


@dataclass
class OrderSection:
    key: str
    title: str
    empty_text: str
    rows: list[Order] = field(default_factory=list)
    #: How many there are in all (``rows`` stops at SECTION_LIMIT).
    count: int = 0


def orders_counter_panel(*, orders, now: datetime.datetime | None = None, can_change: bool = False) -> CounterPanel:
    """The orders (already scoped to the bookseller's shops) that wait for the shop, by next step."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    base = orders.seen_by_shop().select_related("shop", "book").prefetch_related("book__contributors")
    sections = []
    for key, (status, title, empty_text, order_by) in ORDER_SECTIONS.items():
        queryset = base.filter(status=status).order_by(*order_by)
        rows = list(queryset[: SECTION_LIMIT + 1])
        count = len(rows) if len(rows) <= SECTION_LIMIT else queryset.count()
        for row in rows:
            row.is_late = row.expected_on is not None and row.expected_on < today
            row.days_left = (timezone.localdate(row.pickup_deadline) - today).days if row.pickup_deadline else None
            # The date the accept form suggests: the shop's usual longest delay.
            row.suggested_on = today + datetime.timedelta(days=row.shop.order_delay_max_days)
        sections.append(OrderSection(key, title, empty_text, rows[:SECTION_LIMIT], count))
    return CounterPanel(
        key="orders",
        title=_("Commandes"),
        count=sum(section.count for section in sections),
        template="admin/orders/counter_panel.html",
        context={"sections": sections, "can_change": can_change, "today": today},
    )
