"""pass Culture's public API, as the association's provider uses it.

One ``httpx.Client`` per run: the base URL (``PASSCULTURE_API_URL``), the
provider's key as ``Authorization: Bearer``, a timeout, keep-alive between the
calls of a run. pass Culture limits each key to 200 requests a minute and
answers 429 past that; 429, 5xx and network failures are retried with an
exponential back-off (``Retry-After`` honoured), other errors are not.

httpx rather than requests: a timeout on every call by default, a client
bound to a base URL, one ``TransportError`` family for network failures.

The paths, fields and limits are pass Culture's own (``pass-culture-main``,
``api/src/pcapi/routes/public/``); the README lists the files and commits read.
"""

import time

import httpx
from django.conf import settings

#: products per POST /public/offers/v1/products/ean (``ProductsOfferByEanCreation.products``: max_items=500).
UPSERT_BATCH = 500
#: EANs per GET /public/offers/v1/products/ean/check_availability (``GetAvailableEANsListQuery``: at most 100).
CHECK_BATCH = 100
#: items per page of the listings (``limit``: at most 50).
PAGE = 50
#: highest price pass Culture takes, in euro cents (``offer_price_model``: le=30000, «300 euros»).
MAX_PRICE_CENTS = 30_000
#: cap on the quantity sent (pass Culture checks ``Stock.MAX_STOCK_QUANTITY``, whose value we did not read;
#: no bookshop line comes near this).
MAX_QUANTITY = 1_000_000


class PassCultureError(Exception):
    """pass Culture refused the call or could not be reached; ``status`` is None for a network failure."""

    def __init__(self, message: str, *, status: int | None = None, body=None):
        self.status, self.body = status, body
        super().__init__(message)


class PassCultureUnavailable(PassCultureError):
    """Still 429, 5xx or unreachable after every attempt: worth trying again later."""


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class PassCultureClient:
    """The calls the portal makes, each returning pass Culture's JSON (``None`` for a 204)."""

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, transport=None):
        self.base_url = (base_url or settings.PASSCULTURE_API_URL).rstrip("/")
        key = api_key if api_key is not None else settings.PASSCULTURE_API_KEY
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json",
                "User-Agent": "librairies-en-reseau",
            },
            timeout=settings.PASSCULTURE_TIMEOUT_SECONDS,
            transport=transport,
        )
        self.requests_made = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def close(self):
        self.http.close()

    def call(self, method: str, path: str, *, params=None, json=None):
        """One call, retried on 429, 5xx and network failures; raises ``PassCultureError``."""
        attempts = settings.PASSCULTURE_MAX_ATTEMPTS
        for attempt in range(1, attempts + 1):
            self.requests_made += 1
            try:
                response = self.http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                if attempt == attempts:
                    raise PassCultureUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
                self._wait(attempt, None)
                continue
            if response.status_code < 400:
                try:
                    return response.json() if response.content else None
                except ValueError as exc:
                    raise PassCultureError(
                        f"{method} {path}: HTTP {response.status_code}, not JSON: {response.text[:200]!r}",
                        status=response.status_code,
                    ) from exc
            body = _body(response)
            if _retryable(response.status_code) and attempt < attempts:
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            error = PassCultureUnavailable if _retryable(response.status_code) else PassCultureError
            raise error(f"{method} {path}: HTTP {response.status_code} {body}", status=response.status_code, body=body)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = settings.PASSCULTURE_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, int(retry_after))
        time.sleep(min(delay, settings.PASSCULTURE_RETRY_MAX_SECONDS))

    # --- the endpoints -------------------------------------------------------------------

    def offerer_venues(self) -> list[dict]:
        """``[{"offerer": {...}, "venues": [{"id", "siret", ...}]}]``: the venues offerers opened to the provider."""
        return self.call("GET", "/public/offers/v1/offerer_venues")

    def eans_check(self, eans: list[str]) -> dict:
        """``{"available": [...], "rejected": {"notFound", "subcategoryNotAllowed", "notCompliantWithCgu"}}``."""
        assert 0 < len(eans) <= CHECK_BATCH
        return self.call("GET", "/public/offers/v1/products/ean/check_availability", params={"eans": ",".join(eans)})

    def products_upsert(self, *, venue_id: int, products: list[dict]) -> None:
        """Create or update the venue's offers by EAN (queued at pass Culture; 204)."""
        assert 0 < len(products) <= UPSERT_BATCH
        self.call(
            "POST",
            "/public/offers/v1/products/ean",
            json={"location": {"type": "physical", "venueId": venue_id}, "products": products},
        )

    def products_page(self, *, venue_id: int, first_index: int = 1) -> list[dict]:
        """One page (``PAGE``) of the venue's product offers, from offer id ``first_index`` on."""
        answer = self.call(
            "GET", "/public/offers/v1/products", params={"venueId": venue_id, "limit": PAGE, "firstIndex": first_index}
        )
        return answer["products"]

    def bookings_page(self, *, offer_id: int, first_index: int = 1) -> list[dict]:
        """One page of an offer's bookings, from booking id ``first_index`` on."""
        answer = self.call(
            "GET",
            "/public/bookings/v1/bookings",
            params={"offerId": offer_id, "limit": PAGE, "firstIndex": first_index},
        )
        return answer["bookings"]

    def booking_by_token(self, token: str) -> dict:
        return self.call("GET", f"/public/bookings/v1/token/{token}")

    def booking_use(self, token: str) -> None:
        """Mark the booking as collected ("used"); pass Culture then pays the shop."""
        self.call("PATCH", f"/public/bookings/v1/use/token/{token}")

    def provider_update(self, *, notification_url: str) -> dict:
        return self.call("PATCH", "/public/providers/v1/provider", json={"notificationUrl": notification_url})


def _body(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
