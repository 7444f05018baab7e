"""Workflows of a reservation: hold copies, move through its life, tell people."""

import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.models import StockLine
from catalogue.stock.holds import stock_held, stock_hold, stock_release
from portal.ratelimit import ratelimit_take

from .deadlines import opening_days_after, request_deadlines
from .emails import email_enqueue, email_intents, email_queue
from .exceptions import (
    REFUSALS,
    AlreadyAtShop,
    ColleagueLineLimit,
    ContactRequired,
    FormAlreadyUsed,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    NotCollectable,
    RateLimited,
    ReasonRequired,
    ShopNotTakingReservations,
    StaffRateLimited,
    TooManyActiveReservations,
)
from .models import OutgoingEmail, Reservation, ReservationEvent
from .pauses import reservation_pause_check
from .statements import reservation_insert_statement

Status = Reservation.Status
Actor = ReservationEvent.Actor

#: E-mails about a new reservation: the reader's receipt, the shop's notice.
NEW_RESERVATION_EMAILS = ["received", "shop_new"]

#: E-mail to the reader when a reservation reaches each status.
READER_EMAIL_ON = {
    Status.CONFIRMED: "ready",
    Status.COLLECTED: "collected",
    Status.CANCELLED: "cancelled",
    Status.EXPIRED: "expired",
    Status.REDIRECTED: "redirected",
}


def rate_limit(client: str | None = None, *, user=None) -> None:
    window = settings.RESERVATIONS_RATE_WINDOW_SECONDS
    if user is not None:
        if not ratelimit_take(
            key=f"reservations:staff:{user.pk}", limit=settings.RESERVATIONS_STAFF_RATE_LIMIT, window=window
        ):
            raise StaffRateLimited(limit=settings.RESERVATIONS_STAFF_RATE_LIMIT, retry_after=window)
    elif client:
        if not ratelimit_take(
            key=f"reservations:client:{client}", limit=settings.RESERVATIONS_RATE_LIMIT, window=window
        ):
            raise RateLimited(client=client, retry_after=window)


def lock_keys(*keys: str) -> None:
    """Serialise the transactions that check then change what ``keys`` name, until COMMIT.

    SQLite's IMMEDIATE transactions already take the one write lock at BEGIN;
    PostgreSQL takes a transaction-scoped advisory lock per key.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(keys):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def reservation_create(
    *,
    stock_line: StockLine,
    quantity: int,
    reader_name: str,
    reader_email: str = "",
    reader_phone: str = "",
    note: str = "",
    language: str = Reservation.Language.FR,
    form_token: str | None = None,
    client: str | None = None,
    referred_by_shop=None,
    user=None,
    now: datetime.datetime | None = None,
) -> Reservation:
    """Hold copies at a shop for a reader; a replayed ``form_token`` returns the first reservation.

    The reader gives an e-mail address or, at a counter, only a phone number (then no e-mail is sent).
    ``user`` is the bookseller booking for a customer (limited per user and per colleague's line),
    ``client`` the reader's address (limited per address).
    """
    reader_email, reader_phone = normalize_email(reader_email), normalize_phone(reader_phone)
    try:
        if not reader_email and not reader_phone:
            raise ContactRequired()
        maximum = settings.RESERVATIONS_MAX_COPIES
        if not 1 <= quantity <= maximum:
            raise InvalidQuantity(requested=quantity, maximum=maximum)
        rate_limit(client=client, user=user)
        return _reservation_insert(
            stock_line=stock_line,
            quantity=quantity,
            reader_name=reader_name,
            reader_email=reader_email,
            reader_phone=reader_phone,
            note=note,
            language=language,
            form_token=form_token,
            referred_by_shop=referred_by_shop,
            user=user,
            now=now,
        )
    except (*REFUSALS, IntegrityError) as error:
        # A replayed form (double click, back button, or both submissions at
        # once) is not an error: it finds the reservation the first one made.
        # Looked up only on failure, so the common path costs no query. The
        # token only deduplicates: it finds nothing made elsewhere or for someone else.
        if form_token:
            existing = Reservation.objects.replay_of(
                form_token=form_token, stock_line=stock_line, email=reader_email, phone=reader_phone
            )
            if existing is not None:
                return existing
            if isinstance(error, IntegrityError):
                raise FormAlreadyUsed() from error
        raise


def normalize_email(email: str) -> str:
    """One spelling per mailbox, so the per-address cap cannot be dodged with capitals."""
    return (email or "").strip().lower()


def normalize_phone(phone: str) -> str:
    """One spelling per phone number (digits, and a leading +), so the cap of a phone-only reader holds."""
    phone = (phone or "").strip()
    digits = "".join(c for c in phone if c.isdigit())
    return "+" + digits if phone.startswith("+") and digits else digits


def _reservation_insert(
    *,
    stock_line,
    quantity,
    reader_name,
    reader_email,
    reader_phone="",
    note="",
    language="fr",
    form_token=None,
    referred_by_shop=None,
    user=None,
    now=None,
) -> Reservation:
    shop = stock_line.shop
    if not shop.takes_reservations:
        raise ShopNotTakingReservations(shop=shop)
    if not stock_line.book.is_collectable:
        raise NotCollectable(book=stock_line.book)
    if stock_line.available < quantity:
        # The line was read in this request: nothing to write for copies already gone.
        raise InsufficientStock(stock_line_id=stock_line.pk, requested=quantity)
    now = now or timezone.now()
    confirm_by, remind_at = request_deadlines(shop, now)
    reservation = Reservation(
        shop=shop,
        book=stock_line.book,
        quantity=quantity,
        reader_name=reader_name.strip(),
        reader_email=normalize_email(reader_email),
        reader_phone=normalize_phone(reader_phone),
        note=note.strip(),
        language=language if language in Reservation.Language.values else Reservation.Language.FR,
        created_at=now,
        updated_at=now,
        confirm_by=confirm_by,
        remind_at=remind_at,
        form_token=form_token or None,
        referred_by_shop=referred_by_shop,
    )
    actor = Actor.STAFF if user is not None else Actor.READER
    email, phone = reservation.reader_email, reservation.reader_phone
    reader_key = f"reservations:reader:{email}" if email else f"reservations:reader-phone:{phone}"
    if connection.vendor == "postgresql" and referred_by_shop is None:
        with transaction.atomic():
            lock_keys(reader_key)
            _insert_in_one_statement(reservation, stock_line=stock_line, actor=actor, user=user)
        return reservation
    reservation_pause_check(shop=shop, now=now)
    with transaction.atomic():
        # The caps count rows that concurrent requests are about to add: they
        # are checked under a lock held to COMMIT, so a burst cannot pass them together.
        line_key = (
            f"reservations:colleague-line:{referred_by_shop.pk}:{stock_line.pk}"
            if referred_by_shop is not None
            else None
        )
        lock_keys(reader_key, *([line_key] if line_key else []))
        cap = settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL
        if Reservation.objects.active_for_reader(email=email, phone=phone).count() >= cap:
            raise TooManyActiveReservations(email=email, phone=phone, limit=cap)
        if referred_by_shop is not None:
            _check_colleague_line(stock_line=stock_line, origin=referred_by_shop, quantity=quantity)
        reservation.save(force_insert=True)
        ReservationEvent.objects.create(
            reservation=reservation, to_status=Status.REQUESTED, actor=actor, user=user, created_at=now
        )
        email_queue(reservation=reservation, kinds=NEW_RESERVATION_EMAILS)
        # The allocation comes last: the line's row stays locked only from
        # here to COMMIT, so readers of a popular book queue for a moment, not
        # for the whole reservation. Failing it rolls back the rows above.
        stock_hold(stock_line_id=stock_line.pk, quantity=quantity, line=stock_line)
    return reservation


def _insert_in_one_statement(reservation: Reservation, *, stock_line: StockLine, actor: str, user) -> None:
    """The step-by-step path's checks and writes as one PostgreSQL statement (``reservations.statements``).

    The pause switch, the per-reader cap and the hold are its conditions; the reservation, its
    first event and its e-mails are inserted only when the hold took the copies, so the line's
    row is locked only from this statement to COMMIT. A refusal is explained as the
    step-by-step path would.
    """
    emails = email_intents(reservation=reservation, kinds=NEW_RESERVATION_EMAILS)
    reservation_id, email_ids, paused, active = reservation_insert_statement(
        reservation, stock_line=stock_line, emails=emails, actor=actor, user=user
    )
    if reservation_id is None:
        if paused:
            reservation_pause_check(shop=reservation.shop, now=reservation.created_at)
        cap = settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL
        if active >= cap:
            raise TooManyActiveReservations(email=reservation.reader_email, phone=reservation.reader_phone, limit=cap)
        raise InsufficientStock(stock_line_id=stock_line.pk, requested=reservation.quantity)
    reservation.pk = reservation_id
    reservation._state.adding, reservation._state.db = False, connection.alias
    stock_held(line=stock_line)
    if email_ids:
        email_enqueue(email_ids=email_ids)


def _check_colleague_line(*, stock_line, origin, quantity: int) -> None:
    limit = settings.RESERVATIONS_STAFF_MAX_COPIES_PER_LINE
    held = Reservation.objects.held_for_colleague(stock_line=stock_line, origin=origin)
    if held + quantity > limit:
        raise ColleagueLineLimit(limit=limit, held=held)


def reservation_transition(
    *,
    reservation: Reservation,
    to_status: str,
    user=None,
    actor: str | None = None,
    reason: str = "",
    now: datetime.datetime | None = None,
    check=None,
    email_extra: dict | None = None,
) -> Reservation:
    """Move a locked reservation to ``to_status``, release or consume its copies, record and e-mail.

    ``check(locked)`` may refuse the move (raise) once the row is locked.
    """
    now = now or timezone.now()
    actor = actor or (Actor.STAFF if user is not None else Actor.SYSTEM)
    with transaction.atomic():
        locked = (
            Reservation.objects.select_for_update(of=("self",)).select_related("shop", "book").get(pk=reservation.pk)
        )
        if not locked.can_move_to(to_status):
            raise InvalidTransition(reservation=locked, to_status=to_status)
        if check is not None:
            check(locked)
        if to_status == Status.CONFIRMED:
            from_status = locked.status
            locked.status, locked.confirmed_at = to_status, now
            locked.pickup_deadline = opening_days_after(locked.shop, now, locked.shop.hold_days)
            locked.save(update_fields=["status", "confirmed_at", "pickup_deadline", "updated_at"])
            _record(locked, from_status, to_status, actor=actor, user=user, reason=reason, now=now)
        else:
            if to_status == Status.CANCELLED:
                locked.cancel_reason = reason[:300]
            _close(locked, to_status, actor=actor, user=user, reason=reason, now=now)
        kinds = [READER_EMAIL_ON[to_status]]
        if to_status == Status.CANCELLED and actor == Actor.READER:
            kinds.append("shop_cancelled")
        email_queue(reservation=locked, kinds=kinds, extra=email_extra)
    reservation.__dict__.update({k: v for k, v in locked.__dict__.items() if k != "_state"})
    return reservation


def _record(reservation, from_status, to_status, *, actor, user, reason, now) -> None:
    ReservationEvent.record(reservation, from_status, to_status, actor=actor, user=user, reason=reason, now=now)


def _close(locked: Reservation, to_status: str, *, actor, user, reason: str, now) -> None:
    """End a locked reservation: its status and closing date, its copies released (taken, when
    collected), the event recorded. The caller has set any other field to save."""
    from_status = locked.status
    locked.status, locked.closed_at = to_status, now
    fields = ["status", "closed_at", "updated_at"]
    if to_status == Status.CANCELLED:
        fields.append("cancel_reason")
    if to_status == Status.REDIRECTED:
        fields.append("redirected_to")
    locked.save(update_fields=fields)
    stock_release(
        shop_id=locked.shop_id,
        book_id=locked.book_id,
        quantity=locked.quantity,
        collected=to_status == Status.COLLECTED,
    )
    _record(locked, from_status, to_status, actor=actor, user=user, reason=reason, now=now)


def reservation_confirm(*, reservation: Reservation, user=None, now=None) -> Reservation:
    """The shop has set the copies aside: the pickup deadline starts now."""
    return reservation_transition(reservation=reservation, to_status=Status.CONFIRMED, user=user, now=now)


def reservation_collect(*, reservation: Reservation, user=None, now=None) -> Reservation:
    """The reader took the copies: they leave the shop's stock until its next snapshot."""
    return reservation_transition(reservation=reservation, to_status=Status.COLLECTED, user=user, now=now)


def reservation_cancel(
    *, reservation: Reservation, reason: str, user=None, by_reader: bool = False, now=None
) -> Reservation:
    """Cancel by the shop (a reason is required) or by the reader; the copies are freed."""
    reason = (reason or "").strip()
    if not by_reader and not reason:
        raise ReasonRequired()
    return reservation_transition(
        reservation=reservation,
        to_status=Status.CANCELLED,
        user=user,
        actor=Actor.READER if by_reader else None,
        reason=reason,
        now=now,
    )


def reservation_expire(*, reservation: Reservation, now=None) -> Reservation:
    """Expire a reservation that is past its deadline (checked again under lock)."""
    now = now or timezone.now()

    def is_due(locked):
        due = (locked.status == Status.REQUESTED and locked.confirm_by and locked.confirm_by <= now) or (
            locked.status == Status.CONFIRMED and locked.pickup_deadline and locked.pickup_deadline <= now
        )
        if not due:
            raise InvalidTransition(reservation=locked, to_status=Status.EXPIRED)

    was_confirmed = reservation.status == Status.CONFIRMED
    return reservation_transition(
        reservation=reservation,
        to_status=Status.EXPIRED,
        actor=Actor.SYSTEM,
        reason=_("pas retirée avant la date limite") if was_confirmed else _("pas confirmée à temps par la librairie"),
        now=now,
        check=is_due,
        email_extra={"was_confirmed": was_confirmed},
    )


def reservation_remind(*, reservation: Reservation, now=None) -> bool:
    """Remind the shop of an unconfirmed reservation, once; False if already reminded."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Reservation.objects.filter(
            pk=reservation.pk, status=Status.REQUESTED, reminder_sent_at__isnull=True
        ).update(reminder_sent_at=now)
        if claimed:
            reservation.reminder_sent_at = now
            email_queue(reservation=reservation, kinds=["shop_reminder"])
    return bool(claimed)


def reservations_expire_due(*, now: datetime.datetime | None = None) -> dict:
    """Remind shops, expire what is past its deadline; safe to run twice at once."""
    now = now or timezone.now()
    report = {"reminded": 0, "expired_unconfirmed": 0, "expired_uncollected": 0}
    for reservation in Reservation.objects.awaiting_reminder(now).select_related("shop", "book"):
        report["reminded"] += reservation_remind(reservation=reservation, now=now)
    for key, queryset in (
        ("expired_unconfirmed", Reservation.objects.unconfirmed_overdue(now)),
        ("expired_uncollected", Reservation.objects.uncollected_overdue(now)),
    ):
        for reservation in queryset.order_by("pk"):
            try:
                reservation_expire(reservation=reservation, now=now)
            except InvalidTransition:
                continue  # another run, or a bookseller, got there first
            report[key] += 1
    return report


def reservations_purge_personal_data(*, now: datetime.datetime | None = None, days: int | None = None) -> int:
    """Anonymise reservations closed for longer than the retention period; returns how many."""
    now = now or timezone.now()
    days = settings.RESERVATIONS_RETENTION_DAYS if days is None else days
    before = now - datetime.timedelta(days=days)
    ids = list(Reservation.objects.to_purge(before).values_list("pk", flat=True))
    with transaction.atomic():
        count = Reservation.objects.filter(pk__in=ids).update(
            reader_name="", reader_email="", reader_phone="", note="", anonymised_at=now
        )
        OutgoingEmail.objects.filter(reservation_id__in=ids).delete()
    return count


def reservation_move_to_shop(*, reservation: Reservation, shop, user=None, reason: str = "", now=None) -> Reservation:
    """Send a reservation to a colleague's shop in one transaction: copies held there, this one redirected.

    The reader gets one e-mail (the new shop's address and hours) and the colleague's shop the usual
    notice; ``InsufficientStock`` or any refusal leaves everything as it was.
    """
    now = now or timezone.now()
    if shop.pk == reservation.shop_id:
        raise AlreadyAtShop(reservation=reservation, shop=shop)
    if not shop.takes_reservations:
        raise ShopNotTakingReservations(shop=shop)
    reservation_pause_check(shop=shop, now=now)
    with transaction.atomic():
        # The reservation first, then the lines: the order reservation_transition locks them in.
        old = Reservation.objects.select_for_update(of=("self",)).select_related("shop", "book").get(pk=reservation.pk)
        if not old.can_move_to(Status.REDIRECTED):
            raise InvalidTransition(reservation=old, to_status=Status.REDIRECTED)
        lines = {
            line.shop_id: line
            for line in StockLine.objects.select_for_update(of=("self",))
            .select_related("shop", "book")
            .filter(book_id=old.book_id, shop_id__in=[old.shop_id, shop.pk])
            .order_by("pk")
        }
        line = lines.get(shop.pk)
        if line is None:
            raise InsufficientStock(stock_line_id=None, requested=old.quantity)
        # The hold is the first write: without the copies nothing has changed.
        stock_hold(stock_line_id=line.pk, quantity=old.quantity)
        confirm_by, remind_at = request_deadlines(line.shop, now)
        new = Reservation.objects.create(
            shop=line.shop,
            book=old.book,
            quantity=old.quantity,
            reader_name=old.reader_name,
            reader_email=old.reader_email,
            reader_phone=old.reader_phone,
            note=old.note,
            language=old.language,
            created_at=now,
            confirm_by=confirm_by,
            remind_at=remind_at,
            referred_by_shop=old.shop,
        )
        reason = (reason or "").strip()
        old.redirected_to = new
        _close(
            old,
            Status.REDIRECTED,
            actor=Actor.STAFF,
            user=user,
            now=now,
            reason=reason
            or _("transférée à %(shop)s (%(reference)s)") % {"shop": line.shop, "reference": new.reference},
        )
        _record(
            new,
            "",
            Status.REQUESTED,
            actor=Actor.STAFF,
            user=user,
            now=now,
            reason=_("transférée depuis %(shop)s (%(reference)s)") % {"shop": old.shop, "reference": old.reference},
        )
        email_queue(reservation=old, kinds=["redirected"])
        email_queue(reservation=new, kinds=["shop_new"])
    reservation.__dict__.update({k: v for k, v in old.__dict__.items() if k != "_state"})
    return new
