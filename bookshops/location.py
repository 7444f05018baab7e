"""The reader's location: from the query string (shareable links) or a signed cookie.

``near=<postcode or town>`` or ``lat=<..>&lon=<..>``, with ``radius=<km|any>``,
are accepted on any page; a location given that way is remembered in a signed
cookie for the following pages (no session row per anonymous visit), written
by ``ReaderLocationCookieMiddleware``.
"""

import logging
import math
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _
from geopy.exc import GeopyError

from .gazetteer import Place, get_gazetteer
from .geocoding import geocode

logger = logging.getLogger(__name__)

COOKIE_NAME = "reader_location"
COOKIE_SALT = "bookshops.location"
#: ``request._reader_location_cookie`` set to this means "delete the cookie".
FORGET = object()
#: Query parameters that set the location; other parameters are carried over by the form.
LOCATION_PARAMS = ("near", "lat", "lon", "radius")
ANY_RADIUS = "any"


@dataclass(frozen=True)
class ReaderLocation:
    lat: float
    lon: float
    label: str
    #: None means "any distance".
    radius_km: int | None


@dataclass
class LocationState:
    """What the location control shows: the location, or why there is none."""

    location: ReaderLocation | None = None
    #: What the reader typed, echoed back in the form.
    query: str = ""
    #: Places an ambiguous name could mean.
    choices: list[Place] = field(default_factory=list)
    #: The choices are the communes one typo away from what was typed.
    typo: bool = False
    error: str = ""


def parse_radius(raw: str | None) -> int | None | bool:
    """A radius choice in km, None for "any", or False when absent or not one of the choices."""
    if raw is None or raw == "":
        return False
    if raw.strip().lower() == ANY_RADIUS:
        return None
    try:
        value = int(raw)
    except ValueError:
        return False
    return value if value in settings.LOCATION_RADIUS_CHOICES else False


def resolve_place(query: str) -> list[Place]:
    """Places for a postcode or town name; the online geocoder is asked only if configured and the gazetteer fails."""
    places = get_gazetteer().search(query)
    if places or settings.GEOCODER == "offline":
        return places
    try:
        found = geocode(f"{query}, France")
    except GeopyError:
        logger.warning("geocoder failed for %r", query, exc_info=True)
        return []
    if found is None:
        return []
    return [Place(query, "", "", "", found.latitude, found.longitude)]


#: A position farther than this (in degrees of latitude) from every town gets no town name.
NEAREST_PLACE_DEGREES = 0.5


def nearest_place(lat: float, lon: float) -> Place | None:
    """The gazetteer's town nearest to a point (for labelling the browser's position)."""
    best, best_score = None, None
    scale = max(math.cos(math.radians(lat)), 0.01) ** 2
    for place in get_gazetteer().towns_around(lat, lon, NEAREST_PLACE_DEGREES):
        score = (place.latitude - lat) ** 2 + scale * (place.longitude - lon) ** 2
        if best_score is None or score < best_score:
            best, best_score = place, score
    return best if best_score is not None and best_score < NEAREST_PLACE_DEGREES**2 else None


def _from_coordinates(raw_lat: str, raw_lon: str, radius_km) -> ReaderLocation | str:
    try:
        lat, lon = float(raw_lat.replace(",", ".")), float(raw_lon.replace(",", "."))
    except ValueError:
        return _("Coordonnées illisibles : « %(lat)s, %(lon)s ».") % {"lat": raw_lat, "lon": raw_lon}
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return _("Coordonnées hors limites : « %(lat)s, %(lon)s ».") % {"lat": raw_lat, "lon": raw_lon}
    place = nearest_place(lat, lon)
    label = _("près de %(town)s") % {"town": place.name} if place else _("votre position")
    return ReaderLocation(round(lat, 5), round(lon, 5), label, radius_km)


def _resolve(request) -> LocationState:
    params = request.GET
    radius = parse_radius(params.get("radius"))
    stored = _stored(request)
    default_radius = stored.get("radius_km") if stored else settings.LOCATION_DEFAULT_RADIUS_KM
    radius_km = default_radius if radius is False else radius

    near = params.get("near", "").strip()[:100]
    if near:
        places = resolve_place(near)
        if not places and (close := get_gazetteer().close_towns(near)):
            return LocationState(query=near, choices=close, typo=True)
        if not places:
            return LocationState(
                query=near,
                error=_("Lieu inconnu : « %(query)s ». Indiquez un code postal à 5 chiffres ou le nom d'une commune.")
                % {"query": near},
            )
        if len(places) > 1:
            return LocationState(query=near, choices=places)
        place = places[0]
        return _remember(request, ReaderLocation(place.latitude, place.longitude, place.label, radius_km))
    if params.get("lat") and params.get("lon"):
        result = _from_coordinates(params["lat"], params["lon"], radius_km)
        if isinstance(result, str):
            return LocationState(error=result)
        return _remember(request, result)
    if stored:
        try:
            location = ReaderLocation(**{**stored, "radius_km": radius_km})
        except TypeError:  # a cookie written by an older version
            return LocationState()
        if radius is not False:
            return _remember(request, location)
        return LocationState(location=location)
    return LocationState()


def _stored(request) -> dict | None:
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        stored = signing.loads(raw, salt=COOKIE_SALT, max_age=settings.LOCATION_COOKIE_DAYS * 86400)
    except signing.BadSignature:
        return None
    return stored if isinstance(stored, dict) else None


def _remember(request, location: ReaderLocation) -> LocationState:
    request._reader_location_cookie = asdict(location)
    return LocationState(location=location)


def location_cookie_write(*, request, response) -> None:
    """Write (or delete) the location cookie this request changed."""
    value = getattr(request, "_reader_location_cookie", None)
    if value is FORGET:
        response.delete_cookie(COOKIE_NAME, samesite="Lax")
    elif value is not None:
        # signing.dumps: URL-safe base64 of signed JSON, timestamped for max_age.
        response.set_cookie(
            COOKIE_NAME,
            signing.dumps(value, salt=COOKIE_SALT, compress=True),
            max_age=settings.LOCATION_COOKIE_DAYS * 86400,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )


def get_location_state(request) -> LocationState:
    """The location state of this request, worked out once."""
    state = getattr(request, "_reader_location_state", None)
    if state is None:
        state = request._reader_location_state = _resolve(request)
    return state


def get_location(request) -> ReaderLocation | None:
    """The reader's location for this request, or None if it is unknown."""
    return get_location_state(request).location


def forget_location(request) -> None:
    request._reader_location_cookie = FORGET
    request._reader_location_state = LocationState()
