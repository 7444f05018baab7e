"""Each figure of the page, read from the summary tables (and, for one shop, from its own rows).

A figure is a ``Table``: the page prints it beside its chart, the CSV export writes it as it is.
``Scope.shops`` is None for the association (the whole network) and the user's shops for staff,
whose tables then end with the network's average for comparison, never another shop's rows.
"""

import datetime
import functools
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookshops.geo import sphere_km
from bookshops.models import Shop
from catalogue.models import Book, SearchMiss, StockImport, StockLine
from orders.models import Alert, Order
from reservations.models import Reservation, ReservationPause

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

#: Outcome columns of ``ShopMonth``, in the order the tables show them.
OUTCOMES = [
    ("collected", _("retirées")),
    ("expired_unconfirmed", _("expirées sans confirmation")),
    ("expired_uncollected", _("expirées non retirées")),
    ("cancelled_reader", _("annulées par le lecteur")),
    ("cancelled_shop", _("annulées par la librairie")),
    ("redirected", _("envoyées chez un confrère")),
    ("open", _("en cours")),
]
#: The distance within which a reader is taken to find a book (the search page's default radius).
NEARBY_KM = 30
TOP = 20
#: Rows of the per-shop tables printed on the page; the CSV export has them all.
PAGE_ROWS = 50


#: Titles ranked per department by the refresh for the default period (``BookPeriod``).
BOOK_PERIOD_TOP = 50


def months_before(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The page's period when none is chosen: the twelve months ending with this one."""
    end = today.replace(day=1)
    return months_before(end, 11), end


class Percent(float):
    def __str__(self):
        # Not number_format: a thousand rows of rates made it a visible share of the page.
        return f"{float(self):.1f}".replace(".", formats.get_format("DECIMAL_SEPARATOR")) + " %"


class Delay(int):
    """A histogram's bucket edge in minutes, printed as "≤ 2 h"; ``OVER`` is past the last edge."""

    def __str__(self):
        if self > DELAY_EDGES_MINUTES[-1]:
            return "> " + duration_text(DELAY_EDGES_MINUTES[-1])
        return "≤ " + duration_text(self)


OVER = Delay(DELAY_EDGES_MINUTES[-1] + 1)


def duration_text(minutes: int) -> str:
    minutes = int(minutes)
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    if minutes < 24 * 60:
        return _("%(n)s h") % {"n": formats.number_format(minutes / 60, 0 if minutes % 60 == 0 else 1)}
    days = minutes // (24 * 60)
    return ngettext("%(n)s jour", "%(n)s jours", days) % {"n": days}


def percentile_minutes(histogram: dict[int, int], q: float) -> Delay | None:
    """The upper edge of the bucket holding the ``q`` quantile of a {bucket: count} histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(q * total), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return Delay(DELAY_EDGES_MINUTES[bucket]) if bucket < len(DELAY_EDGES_MINUTES) else OVER
    return OVER


def rate(part, whole) -> Percent | None:
    return Percent(100 * part / whole) if whole else None


@dataclass
class Scope:
    """Whose figures, over which months (first days, both included) and department."""

    start: datetime.date
    end: datetime.date
    department: str = ""
    #: None: the whole network; otherwise only these shops' rows.
    shops: list[Shop] | None = None
    #: Rows the long tables need (the page's ``PAGE_ROWS``); None: every row (the CSV export).
    limit: int | None = None
    #: Reads several figures share, made once per page.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_network(self) -> bool:
        return self.shops is None

    @property
    def shop_ids(self) -> list[int]:
        return [shop.pk for shop in self.shops or []]

    def months(self) -> list[datetime.date]:
        months, month = [], self.start
        while month <= self.end:
            months.append(month)
            month = (month + datetime.timedelta(days=32)).replace(day=1)
        return months

    def window(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The period as aware moments: [first day of ``start``, first day after ``end``)."""
        after = (self.end + datetime.timedelta(days=32)).replace(day=1)
        return tuple(
            timezone.make_aware(datetime.datetime.combine(day, datetime.time())) for day in (self.start, after)
        )

    def network(self, queryset, shop_field="shop"):
        """The period's rows of the whole network (the department filter applied)."""
        if self.department:
            queryset = queryset.filter(**{f"{shop_field}__department": self.department})
        return queryset

    def mine(self, queryset, shop_field="shop"):
        """The rows this scope may see: the network's, or only its shops'."""
        queryset = self.network(queryset, shop_field)
        if not self.is_network:
            queryset = queryset.filter(**{f"{shop_field}_id__in": self.shop_ids})
        return queryset


@dataclass
class Table:
    name: str
    title: str
    columns: list
    rows: list = field(default_factory=list)
    #: Totals, or the network's averages beside a shop's rows.
    footer: list = field(default_factory=list)
    note: str = ""
    #: Rows beyond ``PAGE_ROWS`` are in the CSV only.
    more: int = 0

    def clip(self) -> "Table":
        """At most ``PAGE_ROWS`` rows; a selector that read only those already set ``more``."""
        if len(self.rows) > PAGE_ROWS:
            self.more = len(self.rows) - PAGE_ROWS
            self.rows = self.rows[:PAGE_ROWS]
        return self


def _months(scope: Scope, queryset):
    return queryset.filter(month__gte=scope.start, month__lte=scope.end)


@dataclass(frozen=True)
class Requests:
    """One kind of request and its summary table: what the per-month and per-shop outcome tables read."""

    #: Of the tables' CSV names: "" for reservations (the first tables), "commandes-", "alertes-".
    prefix: str
    model: type
    #: The count column's label ("réservations", "commandes", "alertes").
    noun: str
    outcomes: list
    month_title: str
    shop_title: str
    #: What a row with no shop stands for (alerts around the reader's own position).
    no_shop: str = ""

    @property
    def counts(self) -> list[str]:
        return ["created", *[key for key, _label in self.outcomes]]


RESERVATIONS = Requests(
    "",
    ShopMonth,
    _("réservations"),
    OUTCOMES,
    _("Réservations par mois et leur issue"),
    _("Issue des réservations, par librairie"),
)
ORDERS = Requests(
    "commandes-",
    OrderMonth,
    _("commandes"),
    [
        ("unconfirmed", _("adresse jamais confirmée")),
        ("collected", _("retirées")),
        ("declined", _("refusées par la librairie")),
        ("cancelled_reader", _("annulées par le lecteur")),
        ("cancelled_shop", _("annulées par la librairie")),
        ("expired_uncollected", _("arrivées, jamais retirées")),
        ("open", _("en cours")),
    ],
    _("Commandes par mois et leur issue"),
    _("Issue des commandes, par librairie"),
)
ALERTS = Requests(
    "alertes-",
    AlertMonth,
    _("alertes"),
    [
        ("unconfirmed", _("adresse jamais confirmée")),
        ("fulfilled", _("satisfaites (un exemplaire est arrivé)")),
        ("unsubscribed", _("désinscrites")),
        ("expired", _("expirées sans exemplaire")),
        ("watching", _("en attente")),
    ],
    _("Alertes « Prévenez-moi » par mois et leur issue"),
    _("Issue des alertes, par librairie choisie"),
    no_shop=_("autour du lecteur (sans librairie choisie)"),
)


def _request_months(scope: Scope, requests: Requests):
    return _months(scope, requests.model.objects.all())


def _sums(requests: Requests = RESERVATIONS):
    return {key: Sum(key) for key in requests.counts}


def _active_shops_by_month(scope: Scope, requests: Requests) -> dict:
    return dict(
        scope.network(_request_months(scope, requests))
        .values("month")
        .annotate(n=Count("shop_id", distinct=True))
        .values_list("month", "n")
    )


def monthly_outcomes(scope: Scope, requests: Requests = RESERVATIONS) -> Table:
    """Requests per month with their outcomes; for a shop, the network's average per shop beside them."""
    months = _request_months(scope, requests)
    rows = {row["month"]: row for row in scope.mine(months).values("month").annotate(**_sums(requests)).order_by()}
    columns = [_("mois"), requests.noun, *[label for _key, label in requests.outcomes]]
    network = {}
    if not scope.is_network:
        columns.append(_("moyenne du réseau par librairie"))
        shops = _active_shops_by_month(scope, requests)
        network = {
            row["month"]: round(row["n"] / shops[row["month"]], 1)
            for row in scope.network(months).filter(shop__isnull=False).values("month").annotate(n=Sum("created"))
            if shops.get(row["month"])
        }
    table = Table(f"{requests.prefix}par-mois", requests.month_title, columns)
    for month in scope.months():
        row = rows.get(month, {})
        cells = [month, *[row.get(key) or 0 for key in requests.counts]]
        if not scope.is_network:
            cells.append(network.get(month, 0))
        table.rows.append(cells)
    return table


def _outcome_cells(row: dict, requests: Requests = RESERVATIONS) -> list:
    created = row.get("created") or 0
    cells = [created]
    for key, _label in requests.outcomes:
        cells += [row.get(key) or 0, rate(row.get(key) or 0, created)]
    return cells


def _network_average(scope: Scope, requests: Requests) -> tuple[dict, int, int]:
    """The network's totals, its shops with requests, and its rows (with the row of no shop, if any)."""
    per_shop = scope.network(_request_months(scope, requests)).values("shop_id").annotate(**_sums(requests))
    totals = {key: 0 for key in requests.counts}
    shops = rows = 0
    for row in per_shop:
        rows += 1
        shops += row["shop_id"] is not None
        for key in requests.counts:
            totals[key] += row[key]
    return totals, shops, rows


def shop_outcomes(scope: Scope, requests: Requests = RESERVATIONS) -> Table:
    """Per shop: requests, and each outcome's count and rate."""
    columns = [_("librairie"), _("département"), requests.noun]
    for _key, label in requests.outcomes:
        columns += [label, _("%(outcome)s (taux)") % {"outcome": label}]
    table = Table(f"{requests.prefix}par-librairie", requests.shop_title, columns)
    per_shop = (
        scope.mine(_request_months(scope, requests))
        .values("shop_id", "shop__name", "shop__department")
        .annotate(**_sums(requests))
        .order_by("-created", "shop__name")
    )
    totals, count, network_rows = _network_average(scope, requests)
    if scope.limit is not None and scope.is_network:
        per_shop = per_shop[: scope.limit]
        table.more = max(network_rows - scope.limit, 0)
    for row in per_shop:
        name = row["shop__name"] if row["shop_id"] is not None else requests.no_shop
        table.rows.append([name, row["shop__department"] or "", *_outcome_cells(row, requests)])
    if scope.is_network:
        table.footer.append([_("Réseau (total)"), "", *_outcome_cells(totals, requests)])
    elif count:
        average = {key: round(value / count, 1) for key, value in totals.items()}
        cells = _outcome_cells(average, requests)
        # The rates are the network's own, not an average of rates.
        for index, (key, _label) in enumerate(requests.outcomes):
            cells[2 + 2 * index] = rate(totals[key], totals["created"])
        table.footer.append([_("Moyenne du réseau (par librairie)"), "", *cells])
    return table


def _histograms(queryset, measure) -> dict:
    by_shop: dict[int, dict[int, int]] = {}
    for row in queryset.filter(measure=measure).values("shop_id", "bucket").annotate(n=Sum("count")).order_by():
        by_shop.setdefault(row["shop_id"], {})[row["bucket"]] = row["n"]
    return by_shop


def _delay_histograms(scope: Scope) -> dict:
    """{(whose, measure): histograms}: per shop for the scope, merged for the network; read once per page."""
    if "delays" not in scope.cache:
        delays = DelayPeriod.objects.filter(start=scope.start, end=scope.end)
        if not delays.exists():
            delays = _months(scope, DelayMonth.objects.all())
        found = {}
        for measure in DelayMonth.Measure:
            mine = _histograms(scope.mine(delays), measure)
            if scope.is_network:
                network = _merged(mine.values())
            else:
                network = {}
                for row in (
                    scope.network(delays).filter(measure=measure).values("bucket").annotate(n=Sum("count")).order_by()
                ):
                    network[row["bucket"]] = row["n"]
            found[("mine", measure)], found[("network", measure)] = mine, network
        scope.cache["delays"] = found
    return scope.cache["delays"]


def _merged(histograms) -> dict:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bucket, n in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + n
    return merged


def _delay_cells(confirm: dict, collect: dict) -> list:
    return [
        sum(confirm.values()),
        percentile_minutes(confirm, 0.5),
        percentile_minutes(confirm, 0.9),
        sum(collect.values()),
        percentile_minutes(collect, 0.5),
        percentile_minutes(collect, 0.9),
    ]


def shop_delays(scope: Scope) -> Table:
    """Per shop: time to set aside (request → confirmation) and to collect (confirmation → collection)."""
    table = Table(
        "delais",
        _("Délais de mise de côté et de retrait, par librairie"),
        [
            _("librairie"),
            _("confirmées"),
            _("mise de côté, médiane"),
            _("mise de côté, 90 %"),
            _("retirées"),
            _("retrait, médiane"),
            _("retrait, 90 %"),
        ],
        note=_(
            "Les délais sont comptés par tranches (5 min, 10 min, … 14 jours) : « ≤ 2 h » veut dire que la "
            "valeur tombe dans la tranche qui finit à 2 h."
        ),
    )
    histograms = _delay_histograms(scope)
    confirm, collect = (
        histograms[("mine", DelayMonth.Measure.CONFIRM)],
        histograms[("mine", DelayMonth.Measure.COLLECT)],
    )
    names = dict(Shop.objects.filter(pk__in=set(confirm) | set(collect)).values_list("pk", "name"))
    for shop_id in sorted(names, key=lambda pk: (-sum(confirm.get(pk, {}).values()), names[pk])):
        table.rows.append([names[shop_id], *_delay_cells(confirm.get(shop_id, {}), collect.get(shop_id, {}))])
    table.footer.append(
        [
            _("Réseau") if scope.is_network else _("Réseau (pour comparaison)"),
            *_delay_cells(
                histograms[("network", DelayMonth.Measure.CONFIRM)], histograms[("network", DelayMonth.Measure.COLLECT)]
            ),
        ]
    )
    return table


def confirm_histogram(scope: Scope) -> tuple[dict, dict]:
    """(scope's, network's) confirmation delay histograms over the period, for the chart."""
    histograms = _delay_histograms(scope)
    return _merged(histograms[("mine", DelayMonth.Measure.CONFIRM)].values()), histograms[
        ("network", DelayMonth.Measure.CONFIRM)
    ]


def referrals(scope: Scope) -> Table:
    """Customers sent from shop to shop (counter bookings at a colleague's and redirected reservations)."""
    table = Table("solidarite", _("Clients envoyés d'une librairie à l'autre"), [_("de"), _("vers"), _("clients")])
    rows = _months(scope, ReferralMonth.objects.all())
    if scope.department:
        rows = rows.filter(Q(from_shop__department=scope.department) | Q(to_shop__department=scope.department))
    if not scope.is_network:
        rows = rows.filter(Q(from_shop_id__in=scope.shop_ids) | Q(to_shop_id__in=scope.shop_ids))
    if scope.limit is not None:
        # Tens of thousands of pairs at national scale: the page reads its rows, the count and the total only.
        pairs = (
            rows.values("from_shop__name", "to_shop__name")
            .annotate(n=Sum("count"))
            .order_by("-n", "from_shop__name", "to_shop__name")
            .values_list("from_shop__name", "to_shop__name", "n")[: scope.limit]
        )
        table.rows = [list(row) for row in pairs]
        table.more = max(rows.values("from_shop_id", "to_shop_id").distinct().count() - scope.limit, 0)
        total = rows.aggregate(n=Sum("count"))["n"] or 0
    else:
        # Every pair (the CSV): grouped by id and sorted here, a sort by name in the database took four times longer.
        names = dict(Shop.objects.values_list("pk", "name"))
        pairs = rows.values("from_shop_id", "to_shop_id").annotate(n=Sum("count")).order_by()
        table.rows = sorted(
            ([names[f], names[t], n] for f, t, n in pairs.values_list("from_shop_id", "to_shop_id", "n")),
            key=lambda row: (-row[2], row[0], row[1]),
        )
        total = sum(row[2] for row in table.rows)
    table.footer.append([_("Total"), "", total])
    return table


@dataclass
class Wanted:
    """A title's requests in a scope: reservations, orders (address confirmed), alerts (confirmed)."""

    book_id: int
    reservations: int = 0
    orders: int = 0
    alerts: int = 0

    @property
    def total(self) -> int:
        return self.reservations + self.orders + self.alerts


def _top_books(scope: Scope, limit: int = TOP) -> list[Wanted]:
    """The titles most asked for in the scope, all kinds of request together (read once per scope)."""
    key = ("top_books", limit)
    if key not in scope.cache:
        scope.cache[key] = _top_books_read(scope, limit)
    return scope.cache[key]


def _ranked(rows, limit: int) -> list[Wanted]:
    return sorted(rows, key=lambda w: (-w.total, w.book_id))[:limit]


def _top_books_read(scope: Scope, limit: int) -> list[Wanted]:
    if scope.is_network:
        ranked = BookPeriod.objects.filter(start=scope.start, end=scope.end)
        if limit <= BOOK_PERIOD_TOP and ranked.exists():
            # The refresh ranked the default period already (a few hundred rows instead of a year of requests).
            return [
                Wanted(row.book_id, row.reservations, row.orders, row.alerts)
                for row in ranked.filter(department=scope.department).order_by("-total", "book_id")[:limit]
            ]
        rows = _months(scope, BookMonth.objects.all())
        if scope.department:
            rows = rows.filter(department=scope.department)
        return [
            Wanted(row["book_id"], row["r"] or 0, row["o"] or 0, row["a"] or 0)
            for row in rows.values("book_id")
            .annotate(
                n=Sum("count"),
                r=Sum("count", filter=Q(kind=Kind.RESERVATION)),
                o=Sum("count", filter=Q(kind=Kind.ORDER)),
                a=Sum("count", filter=Q(kind=Kind.ALERT)),
            )
            .order_by("-n", "book_id")[:limit]
        ]
    # A shop's own requests are few: counted straight from them (a redirected reservation counts once).
    found: dict[int, Wanted] = {}
    for attribute, queryset in _own_requests(scope):
        for book_id, n in queryset.values("book_id").annotate(n=Count("pk")).values_list("book_id", "n"):
            setattr(found.setdefault(book_id, Wanted(book_id)), attribute, n)
    return _ranked(found.values(), limit)


def _own_requests(scope: Scope) -> list:
    """(attribute of ``Wanted``, queryset) of the requests made in the scope's shops during its period.

    With a department, alerts around a reader's own position (no shop) are left out: they belong to none.
    """
    start, end = scope.window()
    period = {"created_at__gte": start, "created_at__lt": end}
    return [
        (
            "reservations",
            scope.mine(Reservation.objects.filter(**period)).exclude(status=Reservation.Status.REDIRECTED),
        ),
        ("orders", scope.mine(Order.objects.filter(email_confirmed_at__isnull=False, **period))),
        ("alerts", scope.mine(Alert.objects.filter(confirmed_at__isnull=False, **period))),
    ]


def wanted_titles(scope: Scope, *, network: bool = False) -> Table:
    """The titles most asked for: in the scope's shops, or (``network``) across the network."""
    columns = [_("titre"), _("ISBN"), _("réservations"), _("commandes"), _("alertes"), _("demandes en tout")]
    if network:
        scope = Scope(start=scope.start, end=scope.end, department=scope.department)
        table = Table("titres-reseau", _("Les titres les plus demandés du réseau"), columns)
    else:
        table = Table("titres", _("Les titres les plus demandés"), columns)
    table.note = _(
        "Une réservation envoyée chez un confrère compte une fois ; une commande ou une alerte compte une fois "
        "l'adresse du lecteur confirmée."
    )
    top = _top_books(scope)
    books = Book.objects.only("title", "isbn").in_bulk([w.book_id for w in top])
    table.rows = [
        [books[w.book_id].title, books[w.book_id].isbn, w.reservations, w.orders, w.alerts, w.total] for w in top
    ]
    return table


def search_misses(scope: Scope) -> Table:
    """Searches that found nothing, most often first (the whole network: no shop is involved).

    ``SearchMiss`` keeps one counted row per query: a query shows when it was last
    searched within the period, with how many times it has been searched in all.
    """
    start, end = scope.window()
    rows = SearchMiss.objects.filter(last_seen_at__gte=start, last_seen_at__lt=end).order_by("-count", "query")[:TOP]
    table = Table(
        "recherches-sans-resultat", _("Recherches sans résultat"), [_("recherche"), _("fois"), _("dernière fois")]
    )
    table.rows = [[row.query, row.count, timezone.localtime(row.last_seen_at)] for row in rows]
    return table


def demand_places(scope: Scope, book_ids) -> dict[int, list[tuple]]:
    """{book: [(latitude, longitude, town, requests, department)]}: where the readers who asked for each title are.

    An alert keeps the reader's own position (or the shop they chose); a reservation or an order keeps
    only its shop, where the reader is then taken to be. A reader's own position belongs to no department.
    """
    by_shop: dict[tuple[int, int], int] = {}
    points: dict[int, list] = {}
    for attribute, queryset in _own_requests(scope):
        queryset = queryset.filter(book_id__in=book_ids)
        if attribute == "alerts":
            for book_id, lat, lon, place, n in (
                queryset.filter(shop__isnull=True, latitude__isnull=False, longitude__isnull=False)
                .values("book_id", "latitude", "longitude", "place")
                .annotate(n=Count("pk"))
                .values_list("book_id", "latitude", "longitude", "place", "n")
            ):
                points.setdefault(book_id, []).append((lat, lon, place, n, ""))
            queryset = queryset.filter(shop__isnull=False)
        for book_id, shop_id, n in (
            queryset.values("book_id", "shop_id").annotate(n=Count("pk")).values_list("book_id", "shop_id", "n")
        ):
            by_shop[(book_id, shop_id)] = by_shop.get((book_id, shop_id), 0) + n
    where = {
        pk: (lat, lon, town, department)
        for pk, lat, lon, town, department in Shop.objects.filter(
            pk__in={shop_id for _book, shop_id in by_shop}, latitude__isnull=False, longitude__isnull=False
        ).values_list("pk", "latitude", "longitude", "town", "department")
    }
    for (book_id, shop_id), n in by_shop.items():
        if shop_id in where:  # an unlocated shop is not judged
            lat, lon, town, department = where[shop_id]
            points.setdefault(book_id, []).append((lat, lon, town, n, department))
    return points


def _demand(scope: Scope, book_ids) -> dict[int, list[tuple]]:
    """``demand_places``, read from what the refresh wrote for the network's default period when it can."""
    written = DemandPeriod.objects.filter(start=scope.start, end=scope.end)
    if scope.is_network and written.exists():
        if scope.department:
            written = written.filter(department=scope.department)
        points: dict[int, list] = {}
        # The refresh wrote the places of every title ranked in the top for the network or a department.
        for row in written.filter(book_id__in=book_ids).values_list(
            "book_id", "latitude", "longitude", "place", "count", "department"
        ):
            points.setdefault(row[0], []).append(row[1:])
        return points
    return demand_places(scope, book_ids)


def wanted_unheld_nearby(scope: Scope) -> Table:
    """Wanted titles no shop within 30 km of the readers holds now (great-circle distance: a ranking
    figure, the 0.6 % the geodesic would add does not change it).

    A title counts here for the readers (reservations, orders, alerts) of the places where no active
    shop within ``NEARBY_KM`` has a free copy today.
    """
    table = Table(
        "demandes-sans-stock-proche",
        _("Titres demandés qu'aucune librairie à moins de 30 km des lecteurs n'a"),
        [_("titre"), _("ISBN"), _("demandes"), _("lecteurs sans exemplaire à moins de 30 km"), _("où")],
        note=_(
            "Une alerte dit où est le lecteur (ou la librairie qu'il a choisie) ; une réservation ou une "
            "commande ne le dit pas : on le place à la librairie où il l'a faite. Le stock est celui d'aujourd'hui."
        ),
    )
    top = _top_books(scope)
    if not top:
        return table
    demand = _demand(scope, [w.book_id for w in top])
    holders: dict[int, list] = {}
    for book_id, lat, lon, town in (
        StockLine.objects.available()
        .filter(book_id__in=demand, shop__is_active=True, shop__latitude__isnull=False, shop__longitude__isnull=False)
        .values_list("book_id", "shop__latitude", "shop__longitude", "shop__town")
    ):
        holders.setdefault(book_id, []).append((lat, lon, town))
    books = Book.objects.only("title", "isbn").in_bulk(demand)
    for wanted in top:
        cells = _grid(holders.get(wanted.book_id, ()))
        missing, towns = 0, set()
        for place in demand.get(wanted.book_id, ()):
            if not _any_within(cells, place, NEARBY_KM):
                missing += place[3]
                if place[2]:
                    towns.add(place[2])
        if missing:
            book = books[wanted.book_id]
            table.rows.append([book.title, book.isbn, wanted.total, missing, ", ".join(sorted(towns)[:5])])
    return table


#: Grid cell (degrees of latitude): larger than 30 km, so a shop's neighbours are in the 3×3 cells around it.
_CELL = 0.5


def _grid(places) -> dict:
    """(latitude, longitude, town) places by grid cell."""
    cells: dict[tuple[int, int], list] = {}
    for place in places:
        cells.setdefault((int(place[0] // _CELL), int(place[1] // _CELL)), []).append(place)
    return cells


def _any_within(cells: dict, place, radius_km: float) -> bool:
    lat, lon = place[0], place[1]
    row, col = int(lat // _CELL), int(lon // _CELL)
    # A degree of longitude shrinks towards the poles: look further east and west (France: ±2 cells).
    span = 1 + int(1 / max(math.cos(math.radians(abs(lat) + _CELL)), 0.2))
    # Nearest cells first: a title many shops hold is found in the reader's own cell, at the first try.
    return any(
        sphere_km(lat, lon, other[0], other[1]) <= radius_km
        for r, c in _cells_around(span)
        for other in cells.get((row + r, col + c), ())
    )


@functools.cache
def _cells_around(span: int) -> list[tuple[int, int]]:
    """(row, column) offsets of the cells around one, within one row and ``span`` columns, nearest first."""
    return sorted(((r, c) for r in (-1, 0, 1) for c in range(-span, span + 1)), key=lambda rc: rc[0] ** 2 + rc[1] ** 2)


def stock_freshness(scope: Scope, *, now: datetime.datetime | None = None) -> Table:
    """Per shop: the last stock snapshot and the last one that changed anything; stale ones flagged, first."""
    now = now or timezone.now()
    days = settings.FIGURES_STALE_STOCK_DAYS
    table = Table(
        "fraicheur-du-stock",
        _("Fraîcheur du stock"),
        [_("librairie"), _("dernier envoi du stock"), _("dernier changement"), _("à rafraîchir")],
        note=_(
            "Un stock envoyé il y a plus de %(days)s jours est signalé : il promet aux lecteurs des livres "
            "qui ne sont peut-être plus là."
        )
        % {"days": days},
    )
    shops = Shop.objects.active()
    if scope.department:
        shops = shops.filter(department=scope.department)
    if not scope.is_network:
        shops = shops.filter(pk__in=scope.shop_ids)
    changed = dict(
        StockImport.objects.filter(shop__in=shops, status=StockImport.Status.APPLIED)
        .filter(Q(created_count__gt=0) | Q(updated_count__gt=0) | Q(zeroed_count__gt=0))
        .values("shop_id")
        .annotate(last=Max("created_at"))
        .values_list("shop_id", "last")
    )
    limit = now - datetime.timedelta(days=days)
    rows = []
    for shop in shops.only("pk", "name", "stock_reported_at"):
        stale = shop.stock_reported_at is None or shop.stock_reported_at < limit
        rows.append(
            (
                not stale,
                shop.stock_reported_at or datetime.datetime.min.replace(tzinfo=datetime.UTC),
                [
                    shop.name,
                    shop.stock_reported_at and timezone.localtime(shop.stock_reported_at),
                    changed.get(shop.pk) and timezone.localtime(changed[shop.pk]),
                    _("oui") if stale else "",
                ],
            )
        )
    rows.sort(key=lambda row: (row[0], row[1]))
    table.rows = [cells for _fresh, _date, cells in rows]
    stale_count = sum(1 for fresh, _date, _cells in rows if not fresh)
    table.footer.append([_("Librairies à rafraîchir"), "", "", stale_count])
    return table


def catalogue_figures(scope: Scope) -> Table:
    """The shared catalogue as of the last refresh; for staff, their own shelves beside it."""
    table = Table("catalogue", _("Le catalogue"), [_("chiffre"), _("réseau")])
    latest = Refresh.objects.order_by("-finished_at").first()
    labels = [
        ("titles", _("titres au catalogue")),
        ("stock_lines", _("lignes de stock (titres en rayon, par librairie)")),
        ("single_holder_titles", _("titres qu'une seule librairie a en rayon")),
        ("out_of_print_on_shelf", _("titres épuisés chez l'éditeur mais en rayon")),
    ]
    mine = {}
    if not scope.is_network:
        table.columns.append(_("vos librairies"))
        shelves = StockLine.objects.filter(shop_id__in=scope.shop_ids, quantity__gt=0)
        # Correlated, so each of the shop's lines is one probe of the (book, shop) index.
        elsewhere = StockLine.objects.filter(book_id=OuterRef("book_id"), quantity__gt=0).exclude(
            shop_id__in=scope.shop_ids
        )
        mine = {
            "titles": shelves.values("book_id").distinct().count(),
            "stock_lines": shelves.count(),
            "single_holder_titles": shelves.filter(~Exists(elsewhere)).values("book_id").distinct().count(),
            "out_of_print_on_shelf": shelves.filter(book__availability=Book.Availability.OUT_OF_PRINT)
            .values("book_id")
            .distinct()
            .count(),
        }
    for key, label in labels:
        cells = [label, getattr(latest, key) if latest else None]
        if not scope.is_network:
            cells.append(mine[key])
        table.rows.append(cells)
    return table


def pauses(scope: Scope) -> Table:
    """The pauses of new reservations during the period: the network's and the scope's shops'."""
    start, end = scope.window()
    rows = ReservationPause.objects.overlapping(start, end).select_related("shop", "created_by")
    if not scope.is_network:
        rows = rows.filter(Q(shop__isnull=True) | Q(shop_id__in=scope.shop_ids))
    elif scope.department:
        rows = rows.filter(Q(shop__isnull=True) | Q(shop__department=scope.department))
    table = Table(
        "pauses",
        _("Pauses des réservations"),
        [_("où"), _("début"), _("fin"), _("message aux lecteurs"), _("décidée par")],
    )
    for pause in rows.order_by("starts_at"):
        table.rows.append(
            [
                pause.shop.name if pause.shop_id else _("tout le réseau"),
                timezone.localtime(pause.starts_at),
                pause.ends_at and timezone.localtime(pause.ends_at),
                pause.message,
                pause.created_by.get_username() if pause.created_by else "",
            ]
        )
    return table


def last_refresh() -> Refresh | None:
    return Refresh.objects.order_by("-finished_at").first()


#: Every table of the page by its CSV name, in page order.
FIGURES = {
    "par-mois": monthly_outcomes,
    "par-librairie": shop_outcomes,
    "commandes-par-mois": lambda scope: monthly_outcomes(scope, ORDERS),
    "commandes-par-librairie": lambda scope: shop_outcomes(scope, ORDERS),
    "alertes-par-mois": lambda scope: monthly_outcomes(scope, ALERTS),
    "alertes-par-librairie": lambda scope: shop_outcomes(scope, ALERTS),
    "delais": shop_delays,
    "solidarite": referrals,
    "titres": wanted_titles,
    "titres-reseau": lambda scope: wanted_titles(scope, network=True),
    "demandes-sans-stock-proche": wanted_unheld_nearby,
    "recherches-sans-resultat": search_misses,
    "fraicheur-du-stock": stock_freshness,
    "catalogue": catalogue_figures,
    "pauses": pauses,
}
