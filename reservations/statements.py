"""A new reservation as one PostgreSQL statement: its checks and its writes in a single round trip.

The statement is the step-by-step path of ``services._reservation_insert`` said
in SQL, its rules taken from where they live: the pause switch
(``ReservationPause.objects.in_force``), the per-reader cap
(``Reservation.objects.active_for_reader``) and the hold
(``catalogue.stock.holds.stock_hold_sql``) are compiled by the ORM, once per
process and shape, with stand-in values that each call replaces by its own.
"""

import datetime
import functools
import json

from django.conf import settings
from django.db import connection

from catalogue.models import StockLine
from catalogue.stock.holds import stock_hold_sql

from .models import OutgoingEmail, Reservation, ReservationEvent, ReservationPause


class _Slot(str):
    """A place in the compiled statement for one of the call's values."""


#: The stand-ins compiled into the ORM's SQL, and the call's value each stands for.
_STAND_INS = {
    datetime.datetime(1901, 1, 1, tzinfo=datetime.UTC): _Slot("now"),
    -901: _Slot("shop"),
    -902: _Slot("line"),
    -903: _Slot("quantity"),
    "\x01reader": _Slot("reader"),
}
_VALUE_OF = {slot: stand_in for stand_in, slot in _STAND_INS.items()}


def _slots(params) -> list:
    return [_STAND_INS.get(p, p) if isinstance(p, int | str | datetime.datetime) else p for p in params]


@functools.lru_cache(maxsize=32)
def _statement(by_email: bool, columns: tuple[str, ...], emails: int) -> tuple[str, list]:
    """The SQL for one shape of reservation, and what goes in each of its placeholders."""
    now, shop, line, quantity, reader = (
        _VALUE_OF[_Slot(name)] for name in ("now", "shop", "line", "quantity", "reader")
    )
    pause_sql, pause_params = (
        ReservationPause.objects.in_force(now).for_shop(shop).values("pk")[:1].query.sql_with_params()
    )
    active = Reservation.objects.active_for_reader(email=reader if by_email else "", phone="" if by_email else reader)
    active_sql, active_params = active.order_by().values("pk").query.sql_with_params()
    hold_sql, hold_params = stock_hold_sql(
        stock_line_id=line,
        quantity=quantity,
        condition="NOT EXISTS (SELECT 1 FROM paused) AND (SELECT n FROM active) < %s",
    )
    quote = connection.ops.quote_name
    email_values = ", ".join(["(%s, %s, %s)"] * emails) or "(NULL, NULL, NULL)"
    # Every write depends on the one before it: no reservation without its copies, no e-mail without it.
    sql = f"""
        WITH paused AS ({pause_sql}),
        active AS (SELECT count(*) AS n FROM ({active_sql}) AS a),
        held AS ({hold_sql}),
        reservation AS (
            INSERT INTO {quote(Reservation._meta.db_table)} ({", ".join(quote(c) for c in columns)})
            SELECT {", ".join(["%s"] * len(columns))} FROM held
            RETURNING id
        ), event AS (
            INSERT INTO {quote(ReservationEvent._meta.db_table)}
                (reservation_id, from_status, to_status, actor, user_id, reason, created_at)
            SELECT id, '', %s, %s, %s::integer, '', %s FROM reservation
        ), emails AS (
            INSERT INTO {quote(OutgoingEmail._meta.db_table)} (reservation_id, kind, "to", language, context,
                created_at, attempts, last_error, subject, body_text, body_html)
            SELECT reservation.id, e.kind, e.recipient, e.language, %s::jsonb, %s, 0, '', '', '', ''
            FROM reservation, (VALUES {email_values}) AS e (kind, recipient, language)
            WHERE e.kind IS NOT NULL
            RETURNING id
        )
        SELECT (SELECT id FROM reservation), ARRAY(SELECT id FROM emails ORDER BY id),
            EXISTS (SELECT 1 FROM paused), (SELECT n FROM active)
    """
    places = [
        *_slots(pause_params),
        *_slots(active_params),
        *_slots(hold_params),
        _Slot("cap"),
        *(_Slot(f"column:{c}") for c in columns),
        _Slot("status"),
        _Slot("actor"),
        _Slot("user"),
        _Slot("now"),
        _Slot("context"),
        _Slot("now"),
        *(_Slot(f"email:{n}") for n in range(emails * 3)),
    ]
    return sql, places


def reservation_insert_statement(
    reservation: Reservation, *, stock_line: StockLine, emails: list[OutgoingEmail], actor: str, user
) -> tuple[int | None, list[int], bool, int]:
    """Run the statement for an unsaved ``reservation`` on ``stock_line`` with its unsaved ``emails``.

    Returns (the reservation's id or None when refused, the e-mails' ids, whether a pause is in
    force, the reader's active reservations before this one). Call it under the reader's lock.
    """
    row = {}
    for field in Reservation._meta.concrete_fields:
        value = getattr(reservation, field.attname)
        if value is not None and not field.primary_key:
            row[field.column] = field.get_db_prep_save(value, connection)
    sql, places = _statement(bool(reservation.reader_email), tuple(row), len(emails))
    values = {
        "now": reservation.created_at,
        "shop": reservation.shop_id,
        "line": stock_line.pk,
        "quantity": reservation.quantity,
        "reader": reservation.reader_email or reservation.reader_phone,
        "cap": settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL,
        "status": Reservation.Status.REQUESTED,
        "actor": actor,
        "user": user.pk if user is not None else None,
        "context": json.dumps({}),
        **{f"column:{column}": value for column, value in row.items()},
        **{f"email:{n}": value for n, value in enumerate(v for e in emails for v in (e.kind, e.to, e.language))},
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[p] if isinstance(p, _Slot) else p for p in places])
        return cursor.fetchone()
