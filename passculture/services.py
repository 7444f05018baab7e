"""The portal as one pass Culture provider: its members' stock pushed, the young readers' bookings held.

Push: every stock workflow tells ``catalogue.stock.signals.stock_changed``
which lines changed; ``push_mark`` writes them as ``PendingPush`` rows in the same
transaction and enqueues ``tasks.push_changes`` for after the commit, so a
change is never lost (a failed push keeps its rows for the next run or the
periodic catch-up) and many changes of one line make one line to send.

Bookings: a pass Culture booking holds its copies like a reservation
(``catalogue.stock.holds``), so the last copy goes to exactly one of them;
its cancellation or expiry releases them, its collection takes them off the
shelf. pass Culture's notification (no booking id in it) says which offer to
read; the periodic listing catches what a lost notification missed.
"""

import datetime
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bookshops.models import Shop
from catalogue.exceptions import InsufficientStock
from catalogue.models import Book, StockLine
from catalogue.stock.bulk import chunked
from catalogue.stock.holds import stock_hold, stock_release

from .client import (
    CHECK_BATCH,
    MAX_PRICE_CENTS,
    MAX_QUANTITY,
    PAGE,
    UPSERT_BATCH,
    PassCultureClient,
    PassCultureError,
    PassCultureUnavailable,
)
from .models import Booking, EanCheck, Offer, PendingPush, SyncRun
from .tasks import bookings_for_offer, enqueue_on_commit, push_changes

logger = logging.getLogger(__name__)

#: pass Culture booking statuses (``BookingStatus``) and what they mean here.
CONFIRMED, USED, REIMBURSED, CANCELLED = "CONFIRMED", "USED", "REIMBURSED", "CANCELLED"


class PassCultureNotConfigured(Exception):
    """No provider key in the settings, or the shop has no venue at pass Culture."""


class NotificationRefused(ValueError):
    """A notification that is not pass Culture's (``status`` 403) or not a booking notification (400)."""

    def __init__(self, message: str, *, status: int = 400):
        self.status = status
        super().__init__(message)


class CountermarkRefused(Exception):
    """A countermark that cannot be validated; the message is for the bookseller."""


def client_make() -> PassCultureClient:
    """A client for the association's provider key, or ``PassCultureNotConfigured``."""
    if not settings.PASSCULTURE_API_KEY:
        raise PassCultureNotConfigured(_("Aucune clé d'API pass Culture (PASSCULTURE_API_KEY) n'est configurée."))
    return PassCultureClient()


# --- Venues ------------------------------------------------------------------------------


def venues_link(*, client: PassCultureClient, shops: Iterable[Shop] | None = None) -> dict[str, list]:
    """Find each shop's venue by SIRET among those the offerers opened to the provider, and store it.

    Returns ``{"linked": [shop, ...], "not_found": [shop, ...], "venues": [venue dict, ...]}``.
    """
    venues = [venue for row in client.offerer_venues() for venue in row.get("venues", [])]
    by_siret = {venue.get("siret"): venue for venue in venues if venue.get("siret")}
    shops = Shop.objects.exclude(siret="") if shops is None else shops
    linked, not_found = [], []
    for shop in shops:
        venue = by_siret.get(shop.siret)
        if venue is None:
            not_found.append(shop)
            continue
        if shop.passculture_venue_id != venue["id"]:
            shop.passculture_venue_id = venue["id"]
            Shop.objects.filter(pk=shop.pk).update(passculture_venue_id=venue["id"])
        linked.append(shop)
    return {"linked": linked, "not_found": not_found, "venues": venues}


# --- Push ----------------------------------------------------------------------------------


def push_mark(sender=None, *, shop_id: int, book_ids: list[int], shop=None, **_kwargs) -> None:
    """Receiver of ``stock_changed``: remember the lines to send, push them after the commit."""
    if shop is not None:
        if not shop.passculture_enabled:
            return
    elif not Shop.objects.filter(pk=shop_id, passculture_enabled=True).exists():
        return
    now = timezone.now()
    for batch in chunked(book_ids, 2000):
        PendingPush.objects.bulk_create(
            [PendingPush(shop_id=shop_id, book_id=book_id, marked_at=now) for book_id in batch],
            update_conflicts=True,
            unique_fields=["shop", "book"],
            update_fields=["marked_at"],
        )
    enqueue_on_commit(push_changes, shop_id)


def quantity_offered(*, shop: Shop, quantity: int, held: int) -> int:
    """What a reader could reserve now: copies on hand beyond the held ones, never below 0; 0 for a closed member."""
    if not shop.is_active:
        return 0
    return min(max(quantity - held, 0), MAX_QUANTITY)


def price_cents(price: Decimal | None) -> int | None:
    """A price in euros as pass Culture's integer euro cents."""
    if price is None:
        return None
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class _Line:
    book_id: int
    ean: str
    quantity: int
    price_cents: int | None


def stock_push(*, shop_id: int, full: bool, client: PassCultureClient | None = None) -> SyncRun:
    """Send pass Culture the shop's changed lines (or all of them when ``full``), in batches; record the run."""
    shop = Shop.objects.get(pk=shop_id)
    run = SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.FULL if full else SyncRun.Kind.PUSH)
    own_client = client is None
    try:
        if not shop.passculture_enabled:
            raise PassCultureNotConfigured(_("L'envoi au pass Culture est désactivé pour cette librairie."))
        client = client or client_make()
        _venue_ensure(shop, client)
        if full:
            _push_all(shop, client, run)
        else:
            _push_pending(shop, client, run)
    except PassCultureNotConfigured as exc:
        _fail(run, str(exc))
    except PassCultureError as exc:
        _fail(run, _("Le pass Culture n'a pas pu être joint ou a refusé l'appel : %(error)s") % {"error": exc})
    finally:
        if client is not None:
            run.requests_count = client.requests_made
            if own_client:
                client.close()
    _finish(run)
    return run


def _venue_ensure(shop: Shop, client: PassCultureClient) -> None:
    if shop.passculture_venue_id:
        return
    if not shop.siret:
        raise PassCultureNotConfigured(_("La librairie n'a pas de SIRET : son lieu pass Culture ne peut être trouvé."))
    if not venues_link(client=client, shops=[shop])["linked"]:
        raise PassCultureNotConfigured(
            _(
                "Aucun lieu pass Culture n'a le SIRET %(siret)s parmi ceux ouverts au fournisseur : la structure "
                "doit autoriser le fournisseur dans pass Culture Pro, ou le lieu se saisit à la main."
            )
            % {"siret": shop.siret}
        )


def _push_pending(shop: Shop, client: PassCultureClient, run: SyncRun) -> None:
    pending = list(PendingPush.objects.filter(shop=shop).order_by("pk").values_list("pk", "book_id", "marked_at"))
    for batch in chunked(pending, UPSERT_BATCH):
        lines = _lines(shop, [book_id for _pk, book_id, _m in batch])
        _send(shop, client, run, lines, only_if_known=True)
        _pending_clear([(pk, marked_at) for pk, _book_id, marked_at in batch])


def _push_all(shop: Shop, client: PassCultureClient, run: SyncRun) -> None:
    # Lines on the shelf, and lines pass Culture still believes in stock; not the titles long at 0.
    told = set(Offer.objects.filter(shop=shop, quantity__gt=0).values_list("book_id", flat=True))
    in_stock = set(StockLine.objects.filter(shop=shop, quantity__gt=0).values_list("book_id", flat=True))
    book_ids = sorted(told | in_stock)
    marked = list(PendingPush.objects.filter(shop=shop).values_list("pk", "marked_at"))
    for batch in chunked(book_ids, UPSERT_BATCH):
        _send(shop, client, run, _lines(shop, batch), only_if_known=False)
    _pending_clear(marked)


def _pending_clear(rows: list[tuple[int, object]]) -> None:
    """Delete these pending rows, except those marked again since they were read (their change may be newer)."""
    for batch in chunked(rows, 100):
        done = Q(pk__in=[])
        for pk, marked_at in batch:
            done |= Q(pk=pk, marked_at=marked_at)
        PendingPush.objects.filter(done).delete()


def _lines(shop: Shop, book_ids: list[int]) -> list[_Line]:
    rows = {
        book_id: (isbn, quantity, held, price)
        for book_id, isbn, quantity, held, price in StockLine.objects.filter(
            shop=shop, book_id__in=book_ids
        ).values_list("book_id", "book__isbn", "quantity", "held", "price")
    }
    missing = set(book_ids) - rows.keys()  # a line deleted: nothing on the shelf any more
    isbns = dict(Book.objects.filter(pk__in=missing).values_list("pk", "isbn")) if missing else {}
    lines = []
    for book_id in book_ids:
        if book_id in rows:
            isbn, quantity, held, price = rows[book_id]
            lines.append(
                _Line(book_id, isbn, quantity_offered(shop=shop, quantity=quantity, held=held), price_cents(price))
            )
        elif book_id in isbns:
            lines.append(_Line(book_id, isbns[book_id], 0, None))
    return lines


def _send(shop: Shop, client: PassCultureClient, run: SyncRun, lines: list[_Line], *, only_if_known: bool) -> None:
    """Check the EANs, then upsert the eligible priced lines in one call (``len(lines) <= UPSERT_BATCH``)."""
    run.lines_seen += len(lines)
    told = {
        book_id: (quantity, cents)
        for book_id, quantity, cents in Offer.objects.filter(
            shop=shop, book_id__in=[line.book_id for line in lines]
        ).values_list("book_id", "quantity", "price_cents")
    }
    if only_if_known:
        # A title at 0 that pass Culture never had in stock: nothing to tell it.
        lines = [line for line in lines if line.quantity > 0 or told.get(line.book_id, (0, 0))[0] > 0]
    statuses = _eans_status(client, [line.ean for line in lines])
    products, sent = [], []
    for line in lines:
        status = statuses.get(line.ean)
        if status != EanCheck.Status.AVAILABLE:
            run.rejected[line.ean] = str(EanCheck.Status(status).label) if status else _("EAN non valide")
            continue
        cents = line.price_cents
        if cents is None:
            if line.book_id in told:  # known there: its last price stays valid for a change of quantity
                cents = told[line.book_id][1]
            else:
                run.unpriced_count += 1
                continue
        if cents > MAX_PRICE_CENTS:
            run.rejected[line.ean] = _("prix supérieur à 300 €, le plafond du pass Culture")
            continue
        products.append({"ean": line.ean, "stock": {"price": cents, "quantity": line.quantity}})
        sent.append((line, cents))
    run.rejected_count = len(run.rejected)
    if not products:
        return
    try:
        client.products_upsert(venue_id=shop.passculture_venue_id, products=products)
    except PassCultureUnavailable:
        raise
    except PassCultureError as exc:
        # A refused batch would be refused again as it is: record it and go on with the next one.
        run.errors += _("Lot de %(count)s lignes refusé : %(error)s") % {"count": len(products), "error": exc} + "\n"
        return
    now = timezone.now()
    Offer.objects.bulk_create(
        [
            Offer(shop=shop, book_id=line.book_id, quantity=line.quantity, price_cents=cents, sent_at=now)
            for line, cents in sent
        ],
        update_conflicts=True,
        unique_fields=["shop", "book"],
        update_fields=["quantity", "price_cents", "sent_at"],
    )
    run.sent_count += len(products)


def _eans_status(client: PassCultureClient, eans: list[str]) -> dict[str, str]:
    """pass Culture's verdict for each EAN (asked once, then kept for ``PASSCULTURE_EAN_CHECK_DAYS``)."""
    valid = sorted({ean for ean in eans if len(ean) == 13 and ean.isdigit()})
    fresh_since = timezone.now() - datetime.timedelta(days=settings.PASSCULTURE_EAN_CHECK_DAYS)
    known = dict(
        EanCheck.objects.filter(book__isbn__in=valid, checked_at__gte=fresh_since).values_list("book__isbn", "status")
    )
    to_ask = [ean for ean in valid if ean not in known]
    if to_ask:
        book_ids = dict(Book.objects.filter(isbn__in=to_ask).values_list("isbn", "pk"))
        now = timezone.now()
        for batch in chunked(to_ask, CHECK_BATCH):
            answer = client.eans_check(list(batch))
            verdicts = {ean: EanCheck.Status.AVAILABLE for ean in answer.get("available", [])}
            for reason, rejected in (answer.get("rejected") or {}).items():
                if reason in EanCheck.Status.values:
                    verdicts.update({ean: reason for ean in rejected})
            EanCheck.objects.bulk_create(
                [
                    EanCheck(book_id=book_ids[ean], status=status, checked_at=now)
                    for ean, status in verdicts.items()
                    if ean in book_ids
                ],
                update_conflicts=True,
                unique_fields=["book"],
                update_fields=["status", "checked_at"],
            )
            known.update(verdicts)
    return known


def _fail(run: SyncRun, message: str) -> None:
    run.errors += message + "\n"
    run.status = SyncRun.Status.FAILED


def _finish(run: SyncRun) -> None:
    if run.status == SyncRun.Status.RUNNING:
        run.status = SyncRun.Status.PARTIAL if run.errors else SyncRun.Status.OK
    run.finished_at = timezone.now()
    parts = [
        ngettext(
            "%(sent)s ligne envoyée sur %(seen)s examinée(s).",
            "%(sent)s lignes envoyées sur %(seen)s examinée(s).",
            run.sent_count,
        )
        % {"sent": run.sent_count, "seen": run.lines_seen}
    ]
    if run.kind == SyncRun.Kind.BOOKINGS:
        parts = []
    if run.unpriced_count:
        parts.append(
            ngettext(
                "%(count)s ligne sans prix n'a pas été envoyée : le pass Culture exige un prix ; "
                "envoyez-le dans le fichier de stock (colonne prix TTC).",
                "%(count)s lignes sans prix n'ont pas été envoyées : le pass Culture exige un prix ; "
                "envoyez-le dans le fichier de stock (colonne prix TTC).",
                run.unpriced_count,
            )
            % {"count": run.unpriced_count}
        )
    if run.rejected_count:
        parts.append(
            ngettext(
                "%(count)s EAN refusé (détail ci-dessous).",
                "%(count)s EAN refusés (détail ci-dessous).",
                run.rejected_count,
            )
            % {"count": run.rejected_count}
        )
    run.message = " ".join([run.message, *parts]).strip()
    run.save()


def shop_run_summary(run: SyncRun) -> dict:
    """A run as plain data (what a task returns)."""
    return {
        "run": run.pk,
        "status": run.status,
        "sent": run.sent_count,
        "unpriced": run.unpriced_count,
        "rejected": run.rejected_count,
        "errors": run.errors,
    }


# --- Bookings ------------------------------------------------------------------------------


def booking_record(*, data: dict, shop: Shop | None = None) -> Booking | None:
    """Bring the portal in line with one booking as pass Culture describes it (``GetBookingResponse``).

    A new confirmed booking holds its copies, or is kept as ``NO_COPY`` when
    none is free (the shop is then pushed at 0); a cancelled or expired one
    releases them, a used one takes them off the shelf. Returns None for a
    booking that is not the portal's (another venue, an unknown EAN).
    """
    shop = shop or Shop.objects.filter(passculture_venue_id=data["venueId"]).first()
    ean = data.get("offerEan") or ""
    book = Book.objects.filter(isbn=ean).first() if ean else None
    if shop is None or book is None or shop.passculture_venue_id != data["venueId"]:
        return None
    status, now = data["status"], timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().filter(passculture_id=data["id"]).first()
        if booking is None:
            booking = _booking_insert(shop=shop, book=book, data=data)
            if booking.state == Booking.State.NO_COPY:
                push_mark(shop_id=shop.pk, book_ids=[book.pk])
        if booking.passculture_status == status:
            return booking
        booking.passculture_status = status
        fields = ["passculture_status"]
        if booking.state in (Booking.State.HELD, Booking.State.NO_COPY) and status in (CANCELLED, USED, REIMBURSED):
            if booking.state == Booking.State.HELD:
                stock_release(
                    shop_id=booking.shop_id,
                    book_id=booking.book_id,
                    quantity=booking.quantity,
                    collected=status != CANCELLED,
                )
            booking.state = Booking.State.CANCELLED if status == CANCELLED else Booking.State.USED
            booking.closed_at = now
            fields += ["state", "closed_at"]
        booking.save(update_fields=fields)
    return booking


def _booking_insert(*, shop: Shop, book: Book, data: dict) -> Booking:
    status, quantity = data["status"], int(data.get("quantity") or 1)
    booking = Booking(
        passculture_id=data["id"],
        shop=shop,
        book=book,
        quantity=quantity,
        passculture_status=status,
        offer_id=data["offerId"],
        price_cents=data.get("price"),
        booked_at=_parse_datetime(data.get("creationDate")),
        state={CONFIRMED: Booking.State.HELD, CANCELLED: Booking.State.CANCELLED}.get(status, Booking.State.USED),
    )
    if booking.state != Booking.State.HELD:
        booking.closed_at = timezone.now()
    try:
        with transaction.atomic():
            if booking.state == Booking.State.HELD:
                line = StockLine.objects.filter(shop=shop, book=book).first()
                try:
                    if line is None:
                        raise InsufficientStock(stock_line_id=None, requested=quantity)
                    stock_hold(stock_line_id=line.pk, quantity=quantity)
                except InsufficientStock:
                    booking.state = Booking.State.NO_COPY
            booking.save(force_insert=True)
    except IntegrityError:  # recorded meanwhile by another worker (the notification and the listing)
        return Booking.objects.select_for_update().get(passculture_id=data["id"])
    return booking


def _parse_datetime(value):
    try:
        moment = parse_datetime(value) if value else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


def bookings_offer_sync(*, shop_id: int, offer_id: int, client: PassCultureClient | None = None) -> dict:
    """Read every booking of one offer and record each (``booking_record``)."""
    shop = Shop.objects.get(pk=shop_id)
    own = client is None
    client = client or client_make()
    try:
        return _offer_bookings(shop, client, offer_id)
    finally:
        if own:
            client.close()


def _offer_bookings(shop: Shop, client: PassCultureClient, offer_id: int) -> dict:
    counts = {"read": 0, "held": 0, "no_copy": 0}
    first = 1
    while True:
        page = client.bookings_page(offer_id=offer_id, first_index=first)
        for data in page:
            counts["read"] += 1
            booking = booking_record(data=data, shop=shop)
            if booking is not None and booking.state in (Booking.State.HELD, Booking.State.NO_COPY):
                counts["held" if booking.state == Booking.State.HELD else "no_copy"] += 1
        if len(page) < PAGE:
            return counts
        first = max(data["id"] for data in page) + 1


def bookings_sync(*, shop_id: int, full: bool = True, client: PassCultureClient | None = None) -> SyncRun:
    """The safety net: re-read the offers whose bookings are still open, and (``full``) list the venue's offers
    to read the bookings of any whose booked count differs from the portal's record (a lost notification).

    pass Culture allows 200 calls a minute per key: the full listing costs one
    call per 50 offers of the venue, so it runs nightly; the open offers, one
    call each, every few minutes.
    """
    shop = Shop.objects.get(pk=shop_id)
    run = SyncRun.objects.create(shop=shop, kind=SyncRun.Kind.BOOKINGS)
    own = client is None
    try:
        if not (shop.passculture_enabled and shop.passculture_venue_id):
            raise PassCultureNotConfigured(_("La librairie n'est pas reliée à un lieu pass Culture."))
        client = client or client_make()
        open_offers = set(
            Booking.objects.filter(shop=shop, state__in=[Booking.State.HELD, Booking.State.NO_COPY]).values_list(
                "offer_id", flat=True
            )
        )
        to_read = set(open_offers)
        if full:
            to_read |= _offers_with_new_bookings(shop, client, run)
        read = {"read": 0, "held": 0, "no_copy": 0}
        for offer_id in sorted(to_read):
            for key, value in _offer_bookings(shop, client, offer_id).items():
                read[key] += value
        run.message = _(
            "%(listed)s offres du lieu parcourues, %(offers)s relues : %(read)s réservations lues, "
            "%(held)s ouvertes avec leur exemplaire mis de côté, %(no_copy)s sans exemplaire libre."
        ) % {"listed": run.lines_seen, "offers": len(to_read), **read}
    except PassCultureNotConfigured as exc:
        _fail(run, str(exc))
    except PassCultureError as exc:
        _fail(run, _("Le pass Culture n'a pas pu être joint ou a refusé l'appel : %(error)s") % {"error": exc})
    finally:
        if client is not None:
            run.requests_count = client.requests_made
            if own:
                client.close()
    _finish(run)
    return run


def _offers_with_new_bookings(shop: Shop, client: PassCultureClient, run: SyncRun) -> set[int]:
    """Page through the venue's offers; those whose ``bookedQuantity`` is not the portal's count."""
    recorded = dict(
        Booking.objects.filter(shop=shop)
        .exclude(state=Booking.State.CANCELLED)
        .values("offer_id")
        .annotate(n=Sum("quantity"))
        .values_list("offer_id", "n")
    )
    books = dict(StockLine.objects.filter(shop=shop).values_list("book__isbn", "book_id"))
    differing, first = set(), 1
    while True:
        page = client.products_page(venue_id=shop.passculture_venue_id, first_index=first)
        for product in page:
            run.lines_seen += 1
            ean = (product.get("categoryRelatedFields") or {}).get("ean")
            if ean in books:
                Offer.objects.filter(shop=shop, book_id=books[ean], offer_id__isnull=True).update(
                    offer_id=product["id"]
                )
            booked = (product.get("stock") or {}).get("bookedQuantity") or 0
            if booked != recorded.get(product["id"], 0):
                differing.add(product["id"])
        if len(page) < PAGE:
            return differing
        first = max(product["id"] for product in page) + 1


# --- The notification pass Culture sends ---------------------------------------------------


def notification_payload(*, body: bytes, signature: str) -> dict:
    """The booking notification, once its ``PassCulture-Signature`` (HMAC-SHA256, hex) is checked.

    pass Culture signs the JSON text of the notification and posts that text
    JSON-encoded (``requests.post(json=model_dump_json())``): the body is a JSON
    string holding the JSON object. A body that is the object itself is signed
    as it is.
    """
    key = settings.PASSCULTURE_HMAC_KEY
    if not key:
        raise NotificationRefused("no PASSCULTURE_HMAC_KEY is set: notifications cannot be checked", status=403)
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotificationRefused("body is not JSON") from exc
    signed = decoded if isinstance(decoded, str) else body.decode()
    expected = hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise NotificationRefused("bad PassCulture-Signature", status=403)
    try:
        data = json.loads(signed) if isinstance(decoded, str) else decoded
    except ValueError as exc:
        raise NotificationRefused("the JSON string does not hold JSON") from exc
    if not (isinstance(data, dict) and type(data.get("offer_id")) is int and type(data.get("venue_id")) is int):
        raise NotificationRefused("not a booking notification (offer_id and venue_id are required)")
    return data


def notification_handle(*, data: dict) -> bool:
    """Read the notified offer's bookings after the answer (a task); False when the venue is not a member's."""
    shop = Shop.objects.filter(passculture_venue_id=data["venue_id"], passculture_enabled=True).first()
    if shop is None:
        return False
    enqueue_on_commit(bookings_for_offer, shop.pk, data["offer_id"])
    return True


# --- Countermarks ----------------------------------------------------------------------------


def countermark_validate(*, token: str, user, client: PassCultureClient | None = None) -> Booking:
    """Validate at pass Culture the countermark a young reader shows, and take the copies off the shelf."""
    token = token.strip().upper()
    if not (6 <= len(token) <= 20 and token.isalnum()):
        raise CountermarkRefused(_("Une contremarque se compose de 6 lettres ou chiffres."))
    own = client is None
    client = client or client_make()
    try:
        try:
            data = client.booking_by_token(token)
        except PassCultureError as exc:
            raise CountermarkRefused(_countermark_error(exc)) from exc
        shop = Shop.objects.for_user(user).filter(passculture_venue_id=data.get("venueId")).first()
        if shop is None:
            raise CountermarkRefused(_("Cette contremarque est celle d'un autre lieu que vos librairies."))
        booking = booking_record(data=data, shop=shop)
        if booking is None:
            raise CountermarkRefused(_("Ce livre n'est pas au catalogue du réseau : validez-la sur pass Culture Pro."))
        try:
            client.booking_use(token)
        except PassCultureError as exc:
            raise CountermarkRefused(_countermark_error(exc)) from exc
    finally:
        if own:
            client.close()
    return booking_record(data={**data, "status": USED}, shop=shop)


def _countermark_error(exc: PassCultureError) -> str:
    return {
        404: _("Contremarque inconnue du pass Culture (ou d'un lieu non relié au réseau)."),
        410: _("Cette réservation a déjà été validée ou annulée."),
        403: _("Cette réservation ne peut pas être validée (déjà remboursée, ou pas encore confirmée)."),
    }.get(exc.status, _("Le pass Culture n'a pas pu valider la contremarque : %(error)s") % {"error": exc})
