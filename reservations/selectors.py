"""Reads for the booksellers' counter: the day's reservations of their shops, by what to do next."""

import datetime
from dataclasses import dataclass, field

from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Reservation

#: Rows shown per section; the changelist has the rest.
SECTION_LIMIT = 100

#: Sent by the counter view with ``request``, ``shops`` (the bookseller's active shops) and ``now``; a
#: receiver returns a ``CounterPanel`` (or None) shown after the reservations. How the shop's orders join
#: the counter without this app importing them.
counter_panels = Signal()


@dataclass
class CounterPanel:
    """Another workflow's rows on the counter (the shop's orders): rendered by ``template`` with ``panel``."""

    key: str
    title: str
    #: Rows needing the shop's action.
    count: int
    template: str
    context: dict = field(default_factory=dict)


@dataclass
class CounterSection:
    key: str
    rows: list[Reservation] = field(default_factory=list)
    #: How many there are in all (``rows`` stops at SECTION_LIMIT).
    count: int = 0

    @property
    def title(self):
        return SECTIONS[self.key][0]

    @property
    def empty_text(self):
        return SECTIONS[self.key][1]


@dataclass
class CounterDay:
    now: datetime.datetime
    sections: list[CounterSection]

    def section(self, key: str) -> CounterSection:
        return next(s for s in self.sections if s.key == key)


#: The counter's sections, in the order a bookseller works through them: key -> (title, when empty).
SECTIONS = {
    "to_set_aside": (_("À mettre de côté"), _("Aucune demande en attente : tout est mis de côté.")),
    "overdue": (_("Délai de retrait dépassé"), _("Aucune réservation en retard.")),
    "waiting": (_("Prêtes, en attente du lecteur"), _("Aucun livre mis de côté en attente.")),
    "collected_today": (_("Remises aujourd'hui"), _("Aucun livre remis aujourd'hui pour l'instant.")),
}


def counter_day(*, reservations, now: datetime.datetime | None = None) -> CounterDay:
    """The reservations (already scoped to the user's shops) sorted into the counter's sections."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + datetime.timedelta(days=1)
    base = reservations.select_related("shop", "book").prefetch_related("book__contributors")
    querysets = {
        "to_set_aside": base.to_set_aside(),
        "overdue": base.overdue(now),
        "waiting": base.waiting(now),
        "collected_today": base.collected_between(start, end),
    }
    sections = []
    for key in SECTIONS:
        rows = list(querysets[key][: SECTION_LIMIT + 1])
        count = len(rows) if len(rows) <= SECTION_LIMIT else querysets[key].count()
        for row in rows:
            row.days_left = (
                (timezone.localdate(row.pickup_deadline) - timezone.localdate(now)).days
                if row.pickup_deadline
                else None
            )
        sections.append(CounterSection(key=key, rows=rows[:SECTION_LIMIT], count=count))
    return CounterDay(now=now, sections=sections)
