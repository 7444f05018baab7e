"""Distances between readers and shops.

The database narrows with a bounding box on the indexed latitude/longitude;
the exact distance on the WGS-84 ellipsoid (geopy's geodesic) then sorts
the few rows left and drops the corners of the box.
"""

import math

from django.db.models import ExpressionWrapper, F, FloatField
from geopy.distance import geodesic

from .models import Shop

#: Kilometres per degree of latitude, at its smallest (on the equator).
KM_PER_DEGREE_LAT_MIN = 110.57
#: Kilometres per degree of longitude on the equator.
KM_PER_DEGREE_LON_EQUATOR = 111.32


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


def with_distances(items, lat, lon, shop_of=lambda item: item):
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
    shops = with_distances(list(queryset), lat, lon)
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
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
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
    return with_distances(rows, lat, lon, shop_of)[:limit]
