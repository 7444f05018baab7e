"""Geocoding through geopy, with the geocoder chosen in settings.

``GEOCODER = "offline"`` (default) answers from the shipped gazetteer and
never touches the network; ``"banfrance"`` (the French national address
base) or ``"nominatim"`` (OpenStreetMap) are the production options.
"""

import functools

from django.conf import settings
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance, Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from .gazetteer import get_gazetteer


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over the shipped French postcode table: no network at all."""

    def __init__(self):
        super().__init__(scheme="https", timeout=1, proxies={}, user_agent="offline")

    def geocode(self, query, *, exactly_one=True, **kwargs):
        gazetteer = get_gazetteer()
        place = gazetteer.geocode_address(query)
        places = [place] if place else gazetteer.search(query)
        locations = [
            Location(f"{p.name} {p.postcode}, France", (p.latitude, p.longitude), {"place": p}) for p in places
        ]
        if not locations:
            return None
        return locations[0] if exactly_one else locations

    def reverse(self, query, *, exactly_one=True, **kwargs):
        raise NotImplementedError("the offline gazetteer does not reverse-geocode")


@functools.cache
def get_geocoder() -> Geocoder:
    """The geocoder named by ``settings.GEOCODER``."""
    name = settings.GEOCODER
    if name == "offline":
        return OfflineGazetteer()
    options = {"user_agent": settings.GEOCODER_USER_AGENT, "timeout": settings.GEOCODER_TIMEOUT}
    if name == "banfrance":
        return BANFrance(**options)
    if name == "nominatim":
        return Nominatim(**options)
    raise ValueError(f"unknown GEOCODER {name!r} (offline, banfrance or nominatim)")


@functools.cache
def _geocode_callable():
    geocoder = get_geocoder()
    if isinstance(geocoder, OfflineGazetteer):
        return geocoder.geocode
    # Online services ask for at most one request a second (Nominatim's usage policy).
    return RateLimiter(
        geocoder.geocode, min_delay_seconds=settings.GEOCODER_MIN_DELAY_SECONDS, swallow_exceptions=False
    )


def geocode(query: str) -> Location | None:
    """One point for an address or place in France, from the configured geocoder."""
    return _geocode_callable()(query, exactly_one=True)


def reset_geocoder() -> None:
    """Forget the cached geocoder (after a settings change, in tests)."""
    get_geocoder.cache_clear()
    _geocode_callable.cache_clear()
