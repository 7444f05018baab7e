"""A fake pass Culture: a real HTTP server on 127.0.0.1 speaking the public API as pass Culture documents it.

Only the endpoints the portal uses, with the checks pass Culture's serializers
make (``api/src/pcapi/routes/public/``: ``extra = "forbid"``, EAN of 13
characters, prices in euro cents from 0 to 30000, at most 500 products per
upsert, at most 100 EANs per check, pages of at most 50) and its error
shapes (``{"field": ["message"]}``, 401/404/410). Every request is recorded
in ``received``. ``fail_next`` makes the next calls answer an error (429,
503…); ``book()`` makes a young reader book a copy and, when the provider set
a notification URL, posts the signed notification as pass Culture does.
"""

import datetime
import hashlib
import hmac
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

API_KEY = "pc-test-provider-key"
HMAC_KEY = "pc-test-hmac-key"
MAX_PRICE = 30_000


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class FakePassCulture:
    venues: list = field(default_factory=list)  # [{"id", "siret", "offerer_siren", "name"}]
    #: EAN -> rejection reason ("notFound", "subcategoryNotAllowed", "notCompliantWithCgu"); others are paper books.
    refused: dict = field(default_factory=dict)
    received: list = field(default_factory=list)
    #: (status, headers, body) answered to the next calls, first first.
    fail_next: list = field(default_factory=list)
    notification_url: str | None = None

    def __post_init__(self):
        self.offers = {}  # (venue_id, ean) -> offer dict
        self.bookings = {}  # id -> booking dict (with "token")
        self._ids = itertools.count(1001)
        self._booking_ids = itertools.count(5001)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body=None, headers=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                with fake.lock:
                    fake.received.append(Received(self.command, url.path, query, dict(self.headers), body))
                    status, answer, headers = fake.route(self.command, url.path, query, self.headers, body)
                self._answer(status, answer, headers)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method, path):
        return [r for r in self.received if r.method == method and r.path == path]

    # --- the API ------------------------------------------------------------------------

    def route(self, method, path, query, headers, body):
        if headers.get("Authorization") != f"Bearer {API_KEY}":
            return 401, {"auth": "API key required"}, None
        if self.fail_next:
            status, extra_headers, answer = self.fail_next.pop(0)
            return status, answer, extra_headers
        if method == "GET" and path == "/public/offers/v1/offerer_venues":
            return 200, self._offerer_venues(), None
        if method == "GET" and path == "/public/offers/v1/products/ean/check_availability":
            return self._check(query)
        if method == "POST" and path == "/public/offers/v1/products/ean":
            return self._upsert(body)
        if method == "GET" and path == "/public/offers/v1/products":
            return self._products(query)
        if method == "GET" and path == "/public/bookings/v1/bookings":
            return self._bookings(query)
        if method == "GET" and path.startswith("/public/bookings/v1/token/"):
            return self._token(path.rsplit("/", 1)[1], use=False)
        if method == "PATCH" and path.startswith("/public/bookings/v1/use/token/"):
            return self._token(path.rsplit("/", 1)[1], use=True)
        if method == "PATCH" and path == "/public/providers/v1/provider":
            if not isinstance(body, dict) or set(body) - {"notificationUrl", "bookingUrl", "cancelUrl"}:
                return 400, {"__root__": ["extra fields not permitted"]}, None
            self.notification_url = body.get("notificationUrl")
            return 200, {"id": 1, "name": "Librairies en réseau", "notificationUrl": self.notification_url}, None
        return 404, {"global": "Not found"}, None

    def _offerer_venues(self):
        offerers = {}
        for venue in self.venues:
            row = offerers.setdefault(
                venue["siret"][:9],
                {
                    "offerer": {
                        "id": len(offerers) + 1,
                        "createdDatetime": "2024-01-01T00:00:00Z",
                        "name": f"Structure {venue['siret'][:9]}",
                        "siren": venue["siret"][:9],
                        "allowedOnAdage": False,
                    },
                    "venues": [],
                },
            )
            row["venues"].append(
                {
                    "id": venue["id"],
                    "siret": venue["siret"],
                    "siretComment": None,
                    "legalName": venue["name"],
                    "publicName": venue["name"],
                    "createdDatetime": "2024-01-01T00:00:00Z",
                    "activityDomain": "BOOKSTORE",
                    "location": {
                        "type": "physical",
                        "address": "1 rue des Libraires",
                        "city": "Bordeaux",
                        "postalCode": "33000",
                    },
                    "accessibility": {},
                    "notificationUrl": None,
                    "bookingUrl": None,
                    "cancelUrl": None,
                }
            )
        return list(offerers.values())

    def _venue_ids(self):
        return {venue["id"] for venue in self.venues}

    def _status_of(self, ean):
        if ean in self.refused:
            return self.refused[ean]
        return "available" if ean[:3] in ("978", "979") else "notFound"

    def _check(self, query):
        eans = query.get("eans", "")
        if not eans:
            return 400, {"eans": ["EAN list must not be empty"]}, None
        eans = eans.split(",")
        if len(eans) > 100:
            return 400, {"eans": ["Too many EANs"]}, None
        for ean in eans:
            if not ean.isdigit():
                return 400, {"eans": ["EAN must be an integer"]}, None
            if len(ean) != 13:
                return 400, {"eans": ["Only 13 characters EAN are accepted"]}, None
        answer = {"available": [], "rejected": {"notFound": [], "subcategoryNotAllowed": [], "notCompliantWithCgu": []}}
        for ean in dict.fromkeys(eans):
            status = self._status_of(ean)
            (answer["available"] if status == "available" else answer["rejected"][status]).append(ean)
        return 200, answer, None

    def _upsert(self, body):
        errors = _upsert_errors(body)
        if errors:
            return 400, errors, None
        venue_id = body["location"]["venueId"]
        if venue_id not in self._venue_ids():
            return 404, {"global": "Venue cannot be found"}, None
        for product in body["products"]:
            ean, stock = product["ean"], product["stock"]
            if self._status_of(ean) != "available":
                continue  # rejected silently, as the documentation warns
            offer = self.offers.get((venue_id, ean))
            if offer is None:
                offer = self.offers[(venue_id, ean)] = {
                    "id": next(self._ids),
                    "venueId": venue_id,
                    "ean": ean,
                    "bookedQuantity": 0,
                }
            offer["price"] = stock["price"]
            offer["quantity"] = stock.get("quantity")
        return 204, None, None

    def _page(self, query):
        try:
            limit = int(query.get("limit", 50))
            first = int(query.get("firstIndex", 1))
        except ValueError:
            return None, (400, {"limit": ["value is not a valid integer"]}, None)
        if not 0 < limit <= 50 or first < 1:
            return None, (400, {"limit": ["ensure this value is less than or equal to 50"]}, None)
        return (limit, first), None

    def _products(self, query):
        paging, error = self._page(query)
        if error:
            return error
        try:
            venue_id = int(query["venueId"])
        except (KeyError, ValueError):
            return 400, {"venueId": ["value is not a valid integer"]}, None
        if venue_id not in self._venue_ids():
            return 404, {"global": "Venue cannot be found"}, None
        limit, first = paging
        offers = sorted(
            (o for o in self.offers.values() if o["venueId"] == venue_id and o["id"] >= first), key=lambda o: o["id"]
        )[:limit]
        return (
            200,
            {
                "products": [
                    {
                        "id": o["id"],
                        "name": f"Livre {o['ean']}",
                        "status": "ACTIVE",
                        "location": {"type": "physical", "venueId": venue_id},
                        "categoryRelatedFields": {"category": "LIVRE_PAPIER", "ean": o["ean"]},
                        "stock": {
                            "price": o["price"],
                            "quantity": o["quantity"],
                            "bookedQuantity": o["bookedQuantity"],
                            "bookingLimitDatetime": None,
                        },
                    }
                    for o in offers
                ]
            },
            None,
        )

    def _bookings(self, query):
        paging, error = self._page(query)
        if error:
            return error
        try:
            offer_id = int(query["offerId"])
        except (KeyError, ValueError):
            return 400, {"offerId": ["field required"]}, None
        if not any(o["id"] == offer_id for o in self.offers.values()):
            return 404, {"offer": "we could not find this offer id"}, None
        limit, first = paging
        bookings = sorted(
            (b for b in self.bookings.values() if b["offerId"] == offer_id and b["id"] >= first), key=lambda b: b["id"]
        )[:limit]
        return 200, {"bookings": [_public(b) for b in bookings]}, None

    def _token(self, token, *, use):
        booking = next((b for b in self.bookings.values() if b["token"] == token.upper()), None)
        if booking is None:
            return 404, {"global": "This countermark cannot be found"}, None
        if booking["status"] == "USED":
            return 410, {"booking": "This booking has already been validated"}, None
        if booking["status"] == "CANCELLED":
            return 410, {"booking": "This booking has been cancelled"}, None
        if not use:
            return 200, _public(booking), None
        booking["status"] = "USED"
        return 204, None, None

    # --- what young readers and pass Culture do -------------------------------------------

    def book(self, *, venue_id, ean, quantity=1, notify=True):
        """A young reader books ``quantity`` copies; returns the booking (with its countermark) or None if none left."""
        with self.lock:
            offer = self.offers.get((venue_id, ean))
            if offer is None or (offer["quantity"] or 0) - offer["bookedQuantity"] < quantity:
                return None
            offer["bookedQuantity"] += quantity
            booking = {
                "id": next(self._booking_ids),
                "token": secrets.token_hex(3).upper(),
                "quantity": quantity,
                "status": "CONFIRMED",
                "offerId": offer["id"],
                "stockId": offer["id"] * 10,
                "venueId": venue_id,
                "ean": ean,
                "price": offer["price"],
                "creationDate": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            self.bookings[booking["id"]] = booking
        if notify:
            self.notify(booking, "BOOK")
        return booking

    def cancel(self, booking_id, *, notify=True):
        """The reader cancels, or the booking expires (pass Culture cancels it): the copy is free again."""
        with self.lock:
            booking = self.bookings[booking_id]
            booking["status"] = "CANCELLED"
            offer = next(o for o in self.offers.values() if o["id"] == booking["offerId"])
            offer["bookedQuantity"] -= booking["quantity"]
        if notify:
            self.notify(booking, "CANCEL")

    def notification_body(self, booking, action, *, hmac_key=HMAC_KEY):
        """The body and signature pass Culture sends: the JSON text, signed, posted JSON-encoded."""
        offer = next(o for o in self.offers.values() if o["id"] == booking["offerId"])
        data = {
            "booking_confirmation_date": None,
            "booking_creation_date": booking["creationDate"],
            "booking_quantity": booking["quantity"],
            "offer_ean": booking["ean"],
            "offer_id": booking["offerId"],
            "offer_id_at_provider": booking["ean"],
            "offer_name": f"Livre {booking['ean']}",
            "offer_price": offer["price"],
            "price_category_id": None,
            "price_category_id_at_provider": None,
            "price_category_label": None,
            "stock_id": booking["stockId"],
            "stock_id_at_provider": None,
            "user_birth_date": "2008-05-12",
            "user_email": "jeune@example.org",
            "user_first_name": "Camille",
            "user_last_name": "Martin",
            "user_phone": None,
            "venue_address": "1 rue des Libraires",
            "venue_department_code": "33",
            "venue_id": booking["venueId"],
            "venue_name": "Librairie",
            "action": action,
        }
        text = json.dumps(data)
        signature = hmac.new(hmac_key.encode(), text.encode(), hashlib.sha256).hexdigest()
        return json.dumps(text).encode(), signature

    def notify(self, booking, action):
        if not self.notification_url:
            return None
        body, signature = self.notification_body(booking, action)
        return httpx.post(
            self.notification_url,
            content=body,
            timeout=30,
            headers={"Content-Type": "application/json", "PassCulture-Signature": signature},
        )


def _public(booking):
    """A booking as ``GetBookingResponse`` shows it (no countermark in it)."""
    return {
        "id": booking["id"],
        "quantity": booking["quantity"],
        "creationDate": booking["creationDate"],
        "confirmationDate": None,
        "price": booking["price"],
        "status": booking["status"],
        "offerId": booking["offerId"],
        "stockId": booking["stockId"],
        "priceCategoryId": None,
        "priceCategoryLabel": None,
        "offerName": f"Livre {booking['ean']}",
        "offerEan": booking["ean"],
        "offerAddress": "1 rue des Libraires",
        "offerDepartmentCode": "33",
        "venueId": booking["venueId"],
        "venueName": "Librairie",
        "userEmail": "jeune@example.org",
        "userPhoneNumber": None,
        "userFirstName": "Camille",
        "userLastName": "Martin",
        "userBirthDate": "2008-05-12",
        "userPostalCode": "33000",
    }


def _upsert_errors(body):
    """What ``ProductsOfferByEanCreation`` refuses, as ``{"field.path": ["message"]}``."""
    if not isinstance(body, dict):
        return {"__root__": ["value is not a valid dict"]}
    errors = {}
    for extra in set(body) - {"location", "products"}:
        errors[extra] = ["extra fields not permitted"]
    location = body.get("location")
    if not isinstance(location, dict) or location.get("type") not in ("physical", "digital", "address"):
        errors["location"] = ["field required"]
    elif not isinstance(location.get("venueId"), int) or isinstance(location.get("venueId"), bool):
        errors["location.venueId"] = ["value is not a valid integer"]
    products = body.get("products")
    if not isinstance(products, list):
        errors["products"] = ["field required"]
        return errors
    if len(products) > 500:
        errors["products"] = ["ensure this value has at most 500 items"]
    for index, product in enumerate(products):
        where = f"products.{index}"
        if not isinstance(product, dict):
            errors[where] = ["value is not a valid dict"]
            continue
        for extra in set(product) - {"ean", "stock", "publicationDatetime", "bookingAllowedDatetime"}:
            errors[f"{where}.{extra}"] = ["extra fields not permitted"]
        ean = product.get("ean")
        if not isinstance(ean, str) or len(ean) != 13:
            errors[f"{where}.ean"] = ["ensure this value has exactly 13 characters"]
        stock = product.get("stock")
        if not isinstance(stock, dict):
            errors[f"{where}.stock"] = ["field required"]
            continue
        for extra in set(stock) - {"price", "quantity", "bookingLimitDatetime"}:
            errors[f"{where}.stock.{extra}"] = ["extra fields not permitted"]
        price = stock.get("price")
        if type(price) is not int:
            errors[f"{where}.stock.price"] = ["value is not a valid integer"]
        elif not 0 <= price <= MAX_PRICE:
            errors[f"{where}.stock.price"] = [f"ensure this value is less than or equal to {MAX_PRICE}"]
        quantity = stock.get("quantity")
        if not (quantity is None or quantity == "unlimited" or type(quantity) is int):
            errors[f"{where}.stock.quantity"] = ["value is not a valid integer"]
        elif type(quantity) is int and quantity < 0:
            errors[f"{where}.stock.quantity"] = ["Value must be positive"]
    return errors
