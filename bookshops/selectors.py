"""Reads that rank shops by distance from the reader.

The database narrows with a bounding box on the indexed latitude/longitude;
the exact distance on the WGS-84 ellipsoid (geopy's geodesic) then sorts
the few rows left and drops the corners of the box.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import ExpressionWrapper, F, FloatField, Q
from django.utils import timezone
from geopy.distance import geodesic

from .models import NEXT_OPENING_DAYS, Closure, OpeningHours, Shop, next_opening, open_at

#: Kilometres per degree of latitude, at its smallest (on the equator).
KM_PER_DEGREE_LAT_MIN = 110.57
#: Kilometres per degree of longitude on the equator.
KM_PER_DEGREE_LON_EQUATOR = 111.32
#: Shops shown anyway, nearest first, when none is within the radius.
NEAREST_ANYWAY = 5


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a box that holds the whole circle."""
    margin = 1.01  # the box must never cut the circle
    dlat = radius_km / KM_PER_DEGREE_LAT_MIN * margin
    cos_lat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
    dlon = min(radius_km / (KM_PER_DEGREE_LON_EQUATOR * cos_lat) * margin, 180)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the ellipsoid, in kilometres."""
    return geodesic((lat1, lon1), (lat2, lon2)).km


def within_box(queryset, lat: float, lon: float, radius_km: float, prefix: str = ""):
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    return queryset.filter(
        **{f"{prefix}latitude__range": (min_lat, max_lat), f"{prefix}longitude__range": (min_lon, max_lon)}
    )


def _with_distances(items, lat, lon, shop_of=lambda item: item):
    """Set ``distance_km`` on each item (None without coordinates) and sort nearest first."""
    for item in items:
        shop = shop_of(item)
        item.distance_km = distance_km(lat, lon, shop.latitude, shop.longitude) if shop.has_coordinates else None
    return sorted(items, key=lambda item: (item.distance_km is None, item.distance_km or 0))


def shops_near(lat: float, lon: float, radius_km: float | None, *, queryset=None) -> list[Shop]:
    """Active shops within ``radius_km`` (every shop for None), nearest first, with ``.distance_km``.

    With no radius, shops without coordinates come last.
    """
    queryset = Shop.objects.active() if queryset is None else queryset
    if radius_km is not None:
        queryset = within_box(queryset, lat, lon, radius_km)
    shops = _with_distances(list(queryset), lat, lon)
    if radius_km is None:
        return shops
    return [shop for shop in shops if shop.distance_km is not None and shop.distance_km <= radius_km]


#: Mean Earth radius (km) for the spherical approximation.
EARTH_RADIUS_KM = 6371.0088
#: The sphere and the WGS-84 ellipsoid differ by less than this share of a distance.
SPHERE_ERROR = 0.006


def sphere_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): a thousand times cheaper than the geodesic, within 0.6 %."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def shop_ids_near(lat: float, lon: float, radius_km: float | None) -> list[int]:
    """Ids of the active shops within the radius (all located shops for None), nearest first.

    For the search's ``boost_shop_ids`` / ``only_shop_ids``, where a thousand
    shops may be in range: the sphere orders them and decides the radius, the
    geodesic is asked only for shops so close to the edge that the two differ.
    """
    queryset = Shop.objects.active().filter(latitude__isnull=False, longitude__isnull=False)
    if radius_km is not None:
        queryset = within_box(queryset, lat, lon, radius_km)
    ranked = []
    for pk, s_lat, s_lon in queryset.values_list("pk", "latitude", "longitude"):
        approx = sphere_km(lat, lon, s_lat, s_lon)
        if radius_km is not None:
            if approx > radius_km * (1 + SPHERE_ERROR):
                continue
            if approx > radius_km * (1 - SPHERE_ERROR) and distance_km(lat, lon, s_lat, s_lon) > radius_km:
                continue
        ranked.append((approx, pk))
    return [pk for _approx, pk in sorted(ranked)]


@dataclass
class BookStock:
    """The stock lines of one book a reader is shown, nearest first when their location is known."""

    lines: list
    location: object = None
    #: Nothing was within the radius: ``lines`` are the nearest shops anyway.
    none_within_radius: bool = False
    #: Shops holding the book beyond the radius, not listed.
    farther_count: int = 0

    def __iter__(self):
        return iter(self.lines)

    def __len__(self):
        return len(self.lines)

    def __bool__(self):
        return bool(self.lines)


def nearest_first(queryset, lat: float, lon: float, limit: int, prefix: str = "") -> list:
    """The ``limit`` rows nearest to the point, with ``.distance_km``, without reading every row.

    The database orders by a flat-earth approximation (plain arithmetic, so it
    runs on SQLite too) and returns a few more rows than asked; the exact
    geodesic then re-sorts them.
    """
    cos_lat = math.cos(math.radians(lat))
    approx = (F(f"{prefix}latitude") - lat) * (F(f"{prefix}latitude") - lat) + (
        (F(f"{prefix}longitude") - lon) * cos_lat
    ) * ((F(f"{prefix}longitude") - lon) * cos_lat)
    rows = list(
        queryset.filter(**{f"{prefix}latitude__isnull": False, f"{prefix}longitude__isnull": False})
        .annotate(approx_distance=ExpressionWrapper(approx, output_field=FloatField()))
        .order_by("approx_distance")[: limit * 2]
    )
    shop_of = (lambda item: item.shop) if prefix else (lambda item: item)
    return _with_distances(rows, lat, lon, shop_of)[:limit]


def book_lines_queryset(book):
    """Lines of ``book`` with copies a reader could reserve, in active shops."""
    from catalogue.models import StockLine

    return StockLine.objects.filter(book=book, shop__is_active=True).in_stock().select_related("shop")


def _lines_within(lines, lat: float, lon: float, radius_km: float) -> list:
    near = _with_distances(list(within_box(lines, lat, lon, radius_km, prefix="shop__")), lat, lon, lambda line: line.shop)
    return [line for line in near if line.distance_km <= radius_km]


def book_lines_near(book, lat: float, lon: float, radius_km: float) -> list:
    """Lines of ``book`` in shops within ``radius_km``, nearest first, with ``.distance_km``."""
    return _lines_within(book_lines_queryset(book), lat, lon, radius_km)


def stock_lines_for_book(book, location=None) -> BookStock:
    """Lines of ``book`` with copies available, in active shops, nearest first when ``location`` is known.

    If no shop within the location's radius has the book, the nearest ones
    are returned anyway, flagged with ``none_within_radius``.
    """
    lines = book_lines_queryset(book)
    if location is None:
        stock = BookStock(lines=list(lines.order_by("shop__name")))
    elif location.radius_km is None:
        ranked = _with_distances(list(lines), location.lat, location.lon, lambda line: line.shop)
        stock = BookStock(lines=ranked, location=location)
    else:
        near = _lines_within(lines, location.lat, location.lon, location.radius_km)
        if near:
            stock = BookStock(lines=near, location=location, farther_count=lines.count() - len(near))
        else:
            nearest = nearest_first(lines, location.lat, location.lon, NEAREST_ANYWAY, prefix="shop__")
            stock = BookStock(lines=nearest, location=location, none_within_radius=bool(nearest))
            if not nearest:  # only shops without coordinates hold it
                stock.lines = list(lines.order_by("shop__name"))
    attach_open_now(stock.lines)
    return stock


def attach_open_now(lines, moment=None) -> None:
    """Set ``shop_is_open`` on each line, and ``shop_opens_at`` (or None) when the shop is closed.

    Two small queries, whatever the number of lines: those shops' weekly hours
    and the closures of the next two weeks.
    """
    shop_ids = {line.shop_id for line in lines}
    if not shop_ids:
        return
    moment = timezone.localtime(moment or timezone.now())
    today = moment.date()
    hours, closures = defaultdict(list), defaultdict(list)
    for h in OpeningHours.objects.filter(shop_id__in=shop_ids):
        hours[h.shop_id].append(h)
    horizon = today + datetime.timedelta(days=NEXT_OPENING_DAYS)
    for c in Closure.objects.filter(shop_id__in=shop_ids, start_date__lte=horizon, end_date__gte=today):
        closures[c.shop_id].append(c)
    for line in lines:
        line.shop_is_open = open_at(hours[line.shop_id], closures[line.shop_id], moment)
        line.shop_opens_at = (
            None if line.shop_is_open else next_opening(hours[line.shop_id], closures[line.shop_id], moment)
        )


@dataclass(frozen=True)
class NearbyHolding:
    """For one book of a result page: the nearest shop holding it and how many hold it within the radius."""

    shop: Shop
    #: None when the radius is "any" and the only holder has no coordinates.
    distance_km: float | None
    shops_within_radius: int


def nearest_holdings(book_ids, location, *, shop_ids: list[int] | None = None) -> dict[int, NearbyHolding]:
    """For each book id held within the location's radius: its nearest holder and the number of holders.

    Three queries for a whole result page: the shops in range (bounding box;
    skipped when the caller already has ``shop_ids_near``'s answer), the stock
    lines of those books in those shops, then the nearest holders, whose exact
    distance is the only one computed.
    """
    from catalogue.models import StockLine

    shop_ids = list(shop_ids_near(location.lat, location.lon, location.radius_km) if shop_ids is None else shop_ids)
    if location.radius_km is None:  # "any distance": shops without coordinates too, last
        shop_ids += list(Shop.objects.active().filter(Q(latitude__isnull=True) | Q(longitude__isnull=True))
                         .values_list("pk", flat=True))
    if not shop_ids or not book_ids:
        return {}
    rank = {pk: position for position, pk in enumerate(shop_ids)}
    held: dict[int, list[int]] = defaultdict(list)
    lines = StockLine.objects.filter(book_id__in=list(book_ids), shop_id__in=shop_ids).in_stock()
    for book_id, shop_id in lines.values_list("book_id", "shop_id"):
        held[book_id].append(shop_id)
    nearest = {book_id: min(ids, key=rank.__getitem__) for book_id, ids in held.items()}
    shops = {shop.pk: shop for shop in _with_distances(
        list(Shop.objects.filter(pk__in=set(nearest.values()))), location.lat, location.lon
    )}
    return {
        book_id: NearbyHolding(shops[shop_id], shops[shop_id].distance_km, len(held[book_id]))
        for book_id, shop_id in nearest.items()
    }


# --- Shops' picks ("coups de cœur") -----------------------------------------------


def visible_picks():
    """Picks a reader may see: published, of an active shop."""
    from .models import StaffPick

    return StaffPick.objects.filter(is_published=True, shop__is_active=True)


def picks_for_shop(shop) -> list:
    """The visible picks of one shop, most recent first, with their books and authors."""
    return list(
        visible_picks().filter(shop=shop).select_related("book").prefetch_related("book__contributors")
        .order_by("-created_at", "-pk")
    )


def picks_for_book(book) -> list:
    """The visible picks of one book, one per shop, most recent first, with their shops."""
    return list(visible_picks().filter(book=book).select_related("shop").order_by("-created_at", "-pk"))


def picks_for_home(location, limit: int) -> list:
    """At most ``limit`` visible picks, one per book: when ``location`` is known, the nearest shops
    first (one pick each, the most recent, then a second round…); otherwise the most recent first.

    Each pick carries ``distance_km`` (None without location or coordinates).

    A handful of queries, whatever the number of shops and picks: the nearest shops
    with picks, the picks' ids, the chosen picks with shop and book, their contributors.
    One pick per book may, in a network where every near shop picked the same books,
    leave the selection shorter than ``limit``.
    """
    picks = visible_picks()
    rows = picks.order_by("-created_at", "-pk").values_list("pk", "shop_id", "book_id")
    distances = {}
    if location is None:
        ordered = rows.iterator(chunk_size=max(limit * 4, 100))
    else:
        with_picks = Shop.objects.active().filter(picks__is_published=True).distinct()
        # Only the nearest shops can fill the selection: no need to measure the whole network.
        reach = max(limit * 2, 6)
        shops = nearest_first(with_picks, location.lat, location.lon, reach)
        if len(shops) < reach:  # every located shop is in: the unlocated ones come last
            unlocated = list(with_picks.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)))
            for shop in unlocated:
                shop.distance_km = None
            shops += unlocated
        rank = {shop.pk: position for position, shop in enumerate(shops)}
        distances = {shop.pk: shop.distance_km for shop in shops}
        # Round after round, each shop's next most recent pick, nearest shop first: the
        # nearest shops lead, and one prolific shop does not fill the whole selection.
        turn = defaultdict(int)
        keyed = []
        for row in rows.filter(shop_id__in=list(rank)):
            keyed.append(((turn[row[1]], rank[row[1]]), row))
            turn[row[1]] += 1
        ordered = [row for _key, row in sorted(keyed, key=lambda item: item[0])]
    chosen, books = [], set()
    for pk, _shop_id, book_id in ordered:
        if len(chosen) >= limit:
            break
        if book_id not in books:
            books.add(book_id)
            chosen.append(pk)
    by_pk = picks.select_related("shop", "book").prefetch_related("book__contributors").in_bulk(chosen)
    result = [by_pk[pk] for pk in chosen if pk in by_pk]
    for pick in result:
        pick.distance_km = distances.get(pick.shop_id)
    return result
