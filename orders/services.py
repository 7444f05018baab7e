"""Workflows of orders through a shop and of alerts: every change recorded, the reader told by e-mail."""

import datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bookshops.geo import sphere_km, with_distances
from catalogue.isbn import normalize_isbn
from catalogue.models import Book, StockLine
from catalogue.services import book_for_reader_isbn
from reservations.deadlines import opening_days_after
from reservations.pauses import reservation_pause_check
from reservations.services import lock_keys, normalize_email, rate_limit

from .emails import alert_email_queue, alerts_email_queue, order_email_queue
from .exceptions import (
    AlertNotPossible,
    AlreadyOrdered,
    InvalidOrderTransition,
    OrderNotPossible,
    TooManyOrders,
)
from .models import Alert, Language, Order, OrderEvent

Status = Order.Status
Actor = OrderEvent.Actor

#: E-mail to the reader when an order reaches each status.
READER_EMAIL_ON = {
    Status.REQUESTED: "received",
    Status.ACCEPTED: "accepted",
    Status.ARRIVED: "arrived",
    Status.COLLECTED: "collected",
    Status.DECLINED: "declined",
    Status.CANCELLED: "cancelled",
    Status.EXPIRED: "expired",
}


def order_refusal(*, book: Book | None, shop) -> str | None:
    """Why ``book`` (None: an ISBN the catalogue does not know) cannot be ordered through ``shop``; None when it can."""
    if book is not None and book.is_out_of_print:
        return _("Ce livre est épuisé chez l'éditeur : il ne se commande plus, il se trouve en rayon ou pas du tout.")
    if not shop.takes_orders:
        return _("Cette librairie ne prend pas de commande en ligne.")
    return None


def order_request(
    *,
    book: Book | None,
    shop,
    quantity: int,
    reader_name: str,
    reader_email: str,
    reader_phone: str = "",
    note: str = "",
    language: str = "fr",
    form_token: str | None = None,
    client: str | None = None,
    isbn: str = "",
    title: str = "",
    now: datetime.datetime | None = None,
) -> Order:
    """Record an order and e-mail the reader a link to confirm their address; the shop sees it only then.

    ``book`` None orders the valid ``isbn`` the catalogue does not know: its book is made here, once
    every check has passed, with the ``title`` the reader typed (see ``book_for_reader_isbn``).
    A replayed ``form_token`` returns the order the first submission made for the same book and address.
    """
    reader_email = normalize_email(reader_email)
    isbn = book.isbn if book is not None else normalize_isbn(isbn)
    if form_token:
        replay = _replay(form_token, isbn, reader_email)
        if replay is not None:
            return replay
    refusal = order_refusal(book=book, shop=shop)
    if refusal:
        raise OrderNotPossible(message=refusal)
    if not 1 <= quantity <= settings.ORDERS_MAX_COPIES:
        raise OrderNotPossible(
            message=_("Vous pouvez commander de 1 à %(maximum)s exemplaires.") % {"maximum": settings.ORDERS_MAX_COPIES}
        )
    if client:
        rate_limit(client)
    now = now or timezone.now()
    reservation_pause_check(shop=shop, now=now)  # the pause switch stops new orders too
    with transaction.atomic():
        # One writer per address at a time: the caps below are read then written.
        lock_keys(f"orders:reader:{reader_email}")
        mine = list(Order.objects.filter(reader_email=reader_email).active().values_list("book__isbn", flat=True))
        if isbn in mine:
            raise AlreadyOrdered()
        if len(mine) >= settings.ORDERS_MAX_ACTIVE_PER_EMAIL:
            raise TooManyOrders(limit=settings.ORDERS_MAX_ACTIVE_PER_EMAIL)
        if book is None:
            book = book_for_reader_isbn(isbn=isbn, title=title, now=now)
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    shop=shop,
                    book=book,
                    quantity=quantity,
                    reader_name=" ".join(reader_name.split()),
                    reader_email=reader_email,
                    reader_phone=reader_phone.strip(),
                    note=note.strip(),
                    language=language if language in Language.values else Language.FR,
                    created_at=now,
                    form_token=form_token or None,
                )
        except IntegrityError:  # the same token, sent twice at once
            replay = _replay(form_token, isbn, reader_email)
            if replay is None:
                raise OrderNotPossible(message=_("Ce formulaire a déjà servi : rechargez la page.")) from None
            return replay
        OrderEvent.record(order, "", Status.UNCONFIRMED, actor=Actor.READER, now=now)
        order_email_queue(order=order, kinds=["confirm_address"])
    return order


def _replay(form_token: str, isbn: str, reader_email: str) -> Order | None:
    return Order.objects.filter(form_token=form_token, book__isbn=isbn, reader_email=reader_email).first()


def order_confirm_address(*, token: str, now: datetime.datetime | None = None) -> Order:
    """The reader followed the link of the first e-mail: the order goes to the shop."""
    try:
        reference = Order.reference_from_confirm_token(token)
    except signing.SignatureExpired:
        raise OrderNotPossible(
            message=_("Ce lien a expiré : la commande n'a pas été transmise, refaites-la.")
        ) from None
    except signing.BadSignature:
        raise OrderNotPossible(message=_("Ce lien n'est pas valable.")) from None
    order = Order.objects.get(reference=reference)
    if order.status != Status.UNCONFIRMED:
        return order  # a second click: nothing more to do
    now = now or timezone.now()

    def stamp(locked):
        locked.email_confirmed_at = now
        return ["email_confirmed_at"]

    return order_transition(order=order, to_status=Status.REQUESTED, actor=Actor.READER, now=now, change=stamp)


def order_transition(
    *,
    order: Order,
    to_status: str,
    user=None,
    actor: str | None = None,
    reason: str = "",
    now: datetime.datetime | None = None,
    change=None,
) -> Order:
    """Move a locked order to ``to_status``, record it and e-mail the reader (and the shop when it is news to it).

    ``change(locked)`` sets the fields of that step and returns their names.
    """
    now = now or timezone.now()
    actor = actor or (Actor.STAFF if user is not None else Actor.SYSTEM)
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).select_related("shop", "book").get(pk=order.pk)
        if not locked.can_move_to(to_status):
            raise InvalidOrderTransition(order=locked, to_status=to_status)
        from_status = locked.status
        fields = ["status", "updated_at", *(change(locked) if change else [])]
        locked.status = to_status
        if to_status not in Order.ACTIVE_STATUSES:
            locked.closed_at = now
            fields.append("closed_at")
        if reason:
            locked.reason = reason[:300]
            fields.append("reason")
        locked.save(update_fields=fields)
        OrderEvent.record(locked, from_status, to_status, actor=actor, user=user, reason=reason, now=now)
        kinds = [READER_EMAIL_ON[to_status]]
        if to_status == Status.REQUESTED:
            kinds.append("shop_new")
        elif to_status == Status.CANCELLED and actor == Actor.READER:
            kinds.append("shop_cancelled")
        order_email_queue(order=locked, kinds=kinds)
    order.__dict__.update({k: v for k, v in locked.__dict__.items() if k != "_state"})
    return order


def order_accept(*, order: Order, expected_on: datetime.date, user=None, now=None) -> Order:
    """The shop ordered the book from its distributor and expects it on ``expected_on``."""
    now = now or timezone.now()

    def accept(locked):
        locked.accepted_at, locked.expected_on = now, expected_on
        return ["accepted_at", "expected_on"]

    return order_transition(order=order, to_status=Status.ACCEPTED, user=user, now=now, change=accept)


def order_arrive(*, order: Order, user=None, now=None) -> Order:
    """The book is in the shop and set aside: the pickup deadline counts the shop's opening days."""
    now = now or timezone.now()

    def arrive(locked):
        locked.arrived_at = now
        locked.pickup_deadline = opening_days_after(locked.shop, now, locked.shop.hold_days)
        return ["arrived_at", "pickup_deadline"]

    return order_transition(order=order, to_status=Status.ARRIVED, user=user, now=now, change=arrive)


def order_collect(*, order: Order, user=None, now=None) -> Order:
    return order_transition(order=order, to_status=Status.COLLECTED, user=user, now=now)


def order_decline(*, order: Order, reason: str, user=None, now=None) -> Order:
    """The shop cannot get the book (unavailable at the distributor, …): a reason is required."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise OrderNotPossible(message=_("Indiquez au lecteur pourquoi la commande ne peut pas être honorée."))
    return order_transition(order=order, to_status=Status.DECLINED, user=user, reason=reason, now=now)


def order_cancel_by_reader(*, order: Order, now=None) -> Order:
    if not order.can_be_cancelled_by_reader:
        raise InvalidOrderTransition(order=order, to_status=Status.CANCELLED)
    return order_transition(order=order, to_status=Status.CANCELLED, actor=Actor.READER, now=now)


def orders_expire_due(*, now: datetime.datetime | None = None) -> dict:
    """Expire addresses never confirmed and arrived books never collected; safe to run twice at once."""
    now = now or timezone.now()
    report = {"unconfirmed": 0, "uncollected": 0}
    due = {
        "unconfirmed": Order.objects.filter(
            status=Status.UNCONFIRMED, created_at__lte=now - datetime.timedelta(hours=settings.ORDERS_CONFIRM_HOURS)
        ),
        "uncollected": Order.objects.filter(status=Status.ARRIVED, pickup_deadline__lte=now),
    }
    for key, queryset in due.items():
        for order in queryset.order_by("pk"):
            try:
                order_transition(
                    order=order,
                    to_status=Status.EXPIRED,
                    actor=Actor.SYSTEM,
                    now=now,
                    reason=_("adresse e-mail jamais confirmée")
                    if key == "unconfirmed"
                    else _("pas retirée avant la date limite"),
                )
            except InvalidOrderTransition:
                continue  # a bookseller or another run got there first
            report[key] += 1
    return report


def orders_notice_stock(*, shop_id: int, book_ids, now=None) -> int:
    """Tell a shop, once per order, that its own stock now holds a book a reader ordered through it."""
    now = now or timezone.now()
    in_stock = set(
        StockLine.objects.filter(shop_id=shop_id, book_id__in=list(book_ids), quantity__gt=0).values_list(
            "book_id", flat=True
        )
    )
    if not in_stock:
        return 0
    told = 0
    with transaction.atomic():
        for order in (
            Order.objects.select_for_update(of=("self",))
            .select_related("shop", "book")
            .filter(
                shop_id=shop_id,
                book_id__in=in_stock,
                status__in=[Status.REQUESTED, Status.ACCEPTED],
                stock_notice_at__isnull=True,
            )
        ):
            order.stock_notice_at = now
            order.save(update_fields=["stock_notice_at"])
            order_email_queue(order=order, kinds=["shop_in_stock"])
            told += 1
    return told


def shops_taking_orders(*, book: Book | None, location=None, limit: int = 5) -> list:
    """Member shops a reader may order ``book`` through, nearest first when the location is known."""
    from bookshops.models import Shop

    shops = Shop.objects.taking_orders()
    if location is None:
        return list(shops.order_by("name")[:limit])
    return with_distances(
        [s for s in shops.exclude(latitude=None).exclude(longitude=None)], location.lat, location.lon
    )[:limit]


# --- Alerts --------------------------------------------------------------------------------


def alert_request(
    *,
    book: Book | None,
    reader_email: str,
    language: str = "fr",
    location=None,
    shop=None,
    client: str | None = None,
    isbn: str = "",
    title: str = "",
    now=None,
) -> Alert:
    """Record an alert and e-mail a link to confirm it (double opt-in); one open alert per address and book.

    ``book`` None watches the valid ``isbn`` the catalogue does not know, as ``order_request`` does.
    """
    reader_email = normalize_email(reader_email)
    isbn = book.isbn if book is not None else normalize_isbn(isbn)
    if location is None and shop is None:
        raise AlertNotPossible(message=_("Dites-nous où vous êtes, ou choisissez une librairie."))
    if client:
        rate_limit(client)
    now = now or timezone.now()
    with transaction.atomic():
        existing = Alert.objects.open().filter(reader_email=reader_email, book__isbn=isbn).first()
        if existing is not None:
            if existing.confirmed_at is None:
                alert_email_queue(alert=existing, kind="alert_confirm")  # the first e-mail went astray
            return existing
        if Alert.objects.open().filter(reader_email=reader_email).count() >= settings.ALERTS_MAX_PER_EMAIL:
            raise AlertNotPossible(
                message=_("Vous suivez déjà %(limit)s livres avec cette adresse : c'est le maximum.")
                % {"limit": settings.ALERTS_MAX_PER_EMAIL}
            )
        if book is None:
            book = book_for_reader_isbn(isbn=isbn, title=title, now=now)
        alert = Alert.objects.create(
            book=book,
            reader_email=reader_email,
            language=language if language in Language.values else Language.FR,
            latitude=location.lat if location else None,
            longitude=location.lon if location else None,
            place=(location.label if location else "")[:200],
            radius_km=location.radius_km if location else None,
            shop=shop,
            created_at=now,
            expires_at=now + datetime.timedelta(days=settings.ALERTS_LIFETIME_DAYS),
        )
        alert_email_queue(alert=alert, kind="alert_confirm")
    return alert


def _alert_from_token(token: str, purpose: str) -> Alert:
    try:
        return Alert.objects.select_related("book").get(pk=Alert.pk_from_token(token, purpose=purpose))
    except (signing.BadSignature, ValueError, Alert.DoesNotExist):
        raise AlertNotPossible(message=_("Ce lien n'est pas valable.")) from None


def alert_confirm(*, token: str, now=None) -> Alert:
    """The reader confirmed their address; a copy already near fires the alert at once."""
    alert = _alert_from_token(token, "confirm")
    if alert.confirmed_at is None and alert.unsubscribed_at is None and alert.expired_at is None:
        alert.confirmed_at = now or timezone.now()
        alert.save(update_fields=["confirmed_at"])
        alerts_match(book_ids=[alert.book_id], now=alert.confirmed_at)
        alert.refresh_from_db()
    return alert


def alert_unsubscribe(*, token: str, now=None) -> Alert:
    alert = _alert_from_token(token, "unsubscribe")
    if alert.unsubscribed_at is None:
        alert.unsubscribed_at = now or timezone.now()
        alert.save(update_fields=["unsubscribed_at"])
    return alert


def _lines_for(alert: Alert, lines: list) -> list:
    """The lines of ``lines`` (one book's available lines, with shops) the alert asks for, nearest first."""
    if alert.shop_id is not None:
        return [line for line in lines if line.shop_id == alert.shop_id]
    if not alert.has_point:
        return []
    near = []
    for line in lines:
        shop = line.shop
        if not shop.has_coordinates:
            continue
        # The sphere decides (within 0.6 %), as the search's radius does.
        if (
            alert.radius_km is None
            or sphere_km(alert.latitude, alert.longitude, shop.latitude, shop.longitude) <= alert.radius_km
        ):
            near.append(line)
    return with_distances(near, alert.latitude, alert.longitude, lambda line: line.shop)


def _holders(lines) -> list[dict]:
    return [
        {
            "shop": line.shop.name,
            "town": line.shop.town,
            "line_id": line.pk,
            "copies": line.available,
            "distance_km": round(line.distance_km, 1) if getattr(line, "distance_km", None) is not None else None,
        }
        for line in lines[:5]
    ]


def alerts_match(*, book_ids, now=None) -> int:
    """Fire the watching alerts of these books that a copy now answers: one e-mail each, then fulfilled.

    A few queries per thousand books whatever the number of alerts (the alerts
    of these books, their available lines, the claim, the e-mails), plain
    arithmetic per pair in between.
    """
    from bookshops.models import Shop

    now = now or timezone.now()
    book_ids = sorted({int(pk) for pk in book_ids})
    fired = 0
    # Every active shop, once (a thousand small rows), rather than joined to each line.
    shops = Shop.objects.active().only("id", "name", "town", "latitude", "longitude").in_bulk()
    for start in range(0, len(book_ids), 1000):
        chunk = book_ids[start : start + 1000]
        # A book announced at the publisher waits for its release (``books_released``), even if a shop has copies.
        alerts = list(
            Alert.objects.watching(now)
            .filter(book_id__in=chunk)
            .exclude(Book.announced_q("book__", timezone.localdate(now)))
        )
        if not alerts:
            continue
        lines_by_book: dict[int, list] = {}
        for line in (
            StockLine.objects.filter(book_id__in={a.book_id for a in alerts})
            .available()
            .only("id", "book_id", "shop_id", "quantity", "held")
        ):
            line.shop = shops[line.shop_id]
            lines_by_book.setdefault(line.book_id, []).append(line)
        matches = {}
        for alert in alerts:
            found = _lines_for(alert, lines_by_book.get(alert.book_id, []))
            if found:
                matches[alert.pk] = (alert, found)
        if not matches:
            continue
        with transaction.atomic():
            # Rows another run is firing are skipped; those it fired are no longer watching.
            claimed = list(
                Alert.objects.watching(now)
                .filter(pk__in=list(matches))
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            Alert.objects.filter(pk__in=claimed).update(fulfilled_at=now)
            alerts_email_queue(items=[(matches[pk][0], {"holders": _holders(matches[pk][1])}) for pk in claimed])
        fired += len(claimed)
    return fired


def alerts_expire_due(*, now=None) -> int:
    """End the alerts past their lifetime, with a notice to the reader (they may ask again)."""
    now = now or timezone.now()
    count = 0
    for alert in Alert.objects.open().filter(expires_at__lte=now).order_by("pk"):
        with transaction.atomic():
            if Alert.objects.open().filter(pk=alert.pk).update(expired_at=now):
                if alert.confirmed_at is not None:
                    alert_email_queue(alert=alert, kind="alert_expired")
                count += 1
    return count
