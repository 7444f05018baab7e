import datetime
import itertools

import pytest
from django.core import mail
from django.utils import timezone

from bookshops.models import Closure
from catalogue.models import StockLine
from catalogue.stock.snapshots import stock_import
from reservations.exceptions import (
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    RateLimited,
    ReasonRequired,
    ShopNotTakingReservations,
    TooManyActiveReservations,
)
from reservations.models import OutgoingEmail, Reservation, ReservationEvent
from reservations.services import (
    reservation_cancel,
    reservation_collect,
    reservation_confirm,
    reservation_create,
    reservation_expire,
    reservation_move_to_shop,
    reservation_transition,
)
from tests.factories import ShopFactory, StockLineFactory, UserFactory, reserve

pytestmark = pytest.mark.django_db
S = Reservation.Status
PARIS = datetime.timezone(datetime.timedelta(hours=1))  # Europe/Paris in November


def at(y, m, d, hour=12):
    return datetime.datetime(y, m, d, hour, tzinfo=PARIS)


def held(line):
    line.refresh_from_db()
    return line.quantity, line.held


def test_reserving_holds_copies_and_tells_reader_and_shop(mailbox):
    line = StockLineFactory(quantity=3)
    with mailbox():
        reservation = reserve(line, quantity=2)
    assert held(line) == (3, 2)
    assert line.available == 1
    assert reservation.status == S.REQUESTED
    assert len(reservation.reference) == 8 and set(reservation.reference) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    assert [(e.from_status, e.to_status, e.actor) for e in reservation.events.all()] == [("", S.REQUESTED, "reader")]
    reader, shop = mailbox.outbox
    assert reader.to == ["jeanne@example.org"] and reservation.reference in reader.subject
    assert reservation.get_reader_url() in reader.body
    assert reader.alternatives and reservation.reference in reader.alternatives[0][0]
    assert shop.to == [line.shop.email] and "Jeanne Lecture" in shop.body
    assert OutgoingEmail.objects.filter(sent_at__isnull=False).count() == 2


def test_references_differ_and_are_unique():
    line = StockLineFactory(quantity=5)
    refs = {reserve(line, reader_email=f"r{i}@example.org").reference for i in range(3)}
    assert len(refs) == 3


def test_the_last_copy_goes_to_one_reader_only():
    line = StockLineFactory(quantity=1)
    reserve(line)
    with pytest.raises(InsufficientStock) as error:
        reserve(line, reader_email="other@example.org")
    assert str(error.value.message) == "Plus d'exemplaire disponible"
    assert held(line) == (1, 1)
    assert Reservation.objects.count() == 1


def test_asking_more_than_available_holds_nothing():
    line = StockLineFactory(quantity=2, held=1)
    with pytest.raises(InsufficientStock):
        reserve(line, quantity=2)
    assert held(line) == (2, 1)


@pytest.mark.parametrize("quantity", [0, -1, 6])
def test_quantity_outside_bounds_is_refused(quantity):
    line = StockLineFactory(quantity=10)
    with pytest.raises(InvalidQuantity) as error:
        reserve(line, quantity=quantity)
    assert "de 1 à 5" in str(error.value.message)
    assert held(line) == (10, 0)


def test_shop_without_click_and_collect_refuses():
    line = StockLineFactory(shop=ShopFactory(offers_click_and_collect=False))
    with pytest.raises(ShopNotTakingReservations):
        reserve(line)
    assert held(line) == (3, 0)


def test_active_reservations_per_email_are_capped(settings):
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 2
    line = StockLineFactory(quantity=5)
    first = reserve(line, reader_email="a@example.org")
    reserve(line, reader_email="A@Example.org")
    with pytest.raises(TooManyActiveReservations) as error:
        reserve(line, reader_email="a@example.org")
    assert "2 réservations en cours" in str(error.value.message)
    assert Reservation.objects.get(pk=first.pk).reader_email == "a@example.org"
    reservation_cancel(reservation=first, reason="", by_reader=True)
    reserve(line, reader_email="a@example.org")  # a closed one no longer counts
    assert Reservation.objects.active().count() == 2


def test_rate_limit_per_client(settings):
    settings.RESERVATIONS_RATE_LIMIT = 2
    line = StockLineFactory(quantity=5)
    reserve(line, reader_email="1@example.org", client="10.0.0.1")
    reserve(line, reader_email="2@example.org", client="10.0.0.1")
    with pytest.raises(RateLimited) as error:
        reserve(line, reader_email="3@example.org", client="10.0.0.1")
    assert "Trop de réservations" in str(error.value.message)
    reserve(line, reader_email="3@example.org", client="10.0.0.2")
    assert held(line) == (5, 3)


def test_replayed_form_token_makes_one_reservation(mailbox):
    line = StockLineFactory(quantity=3)
    with mailbox():
        first = reserve(line, form_token="tok-1")
        again = reserve(line, form_token="tok-1")
    assert again.pk == first.pk
    assert held(line) == (3, 1)
    assert len(mailbox.outbox) == 2  # the reader's and the shop's, once


def test_replaying_the_form_that_took_the_last_copy_finds_it(settings):
    settings.RESERVATIONS_MAX_ACTIVE_PER_EMAIL = 1
    line = StockLineFactory(quantity=1)
    first = reserve(line, form_token="tok-last")
    # Sold out and at the per-address cap: the replay is still not an error.
    assert reserve(line, form_token="tok-last").pk == first.pk
    with pytest.raises(InsufficientStock):
        reserve(line, form_token="tok-other", reader_email="b@example.org")


def test_confirm_starts_the_deadline_and_sends_ready_email(mailbox):
    shop = ShopFactory(hold_days=2)
    line = StockLineFactory(shop=shop)
    reservation = reserve(line, now=at(2026, 11, 19))
    user = UserFactory()
    with mailbox():
        reservation_confirm(reservation=reservation, user=user, now=at(2026, 11, 20, 15))  # a Friday
    reservation.refresh_from_db()
    assert reservation.status == S.CONFIRMED
    # Saturday, then (Sunday closed) Monday, until closing time.
    assert reservation.pickup_deadline == at(2026, 11, 23, 19)
    event = reservation.events.last()
    assert (event.from_status, event.to_status, event.actor, event.user) == (S.REQUESTED, S.CONFIRMED, "staff", user)
    (ready,) = mailbox.outbox
    assert "vous attend" in ready.subject
    assert "1 rue des Libraires" in ready.body and "10:00–19:00" in ready.body
    assert "23 novembre 2026" in ready.body
    assert "23 novembre 2026" in ready.alternatives[0][0]


def test_deadline_skips_closures():
    shop = ShopFactory(hold_days=2)
    Closure.objects.create(shop=shop, start_date=datetime.date(2026, 11, 23), end_date=datetime.date(2026, 11, 24))
    reservation = reserve(StockLineFactory(shop=shop))
    reservation_confirm(reservation=reservation, now=at(2026, 11, 20, 15))
    reservation.refresh_from_db()
    assert reservation.pickup_deadline == at(2026, 11, 25, 19)  # Saturday, then Wednesday


def test_collect_takes_copies_off_the_shelf(mailbox):
    line = StockLineFactory(quantity=3)
    reservation = reserve(line, quantity=2)
    reservation_confirm(reservation=reservation)
    with mailbox():
        reservation_collect(reservation=reservation)
    assert held(line) == (1, 0)
    assert Reservation.objects.get().status == S.COLLECTED
    assert "retirée" in mailbox.outbox[0].subject


def test_shop_cancel_needs_a_reason_and_frees_copies(mailbox):
    line = StockLineFactory(quantity=1)
    reservation = reserve(line)
    with pytest.raises(ReasonRequired):
        reservation_cancel(reservation=reservation, reason="  ", user=UserFactory())
    with mailbox():
        reservation_cancel(reservation=reservation, reason="Livre abîmé", user=UserFactory())
    assert held(line) == (1, 0)
    reservation.refresh_from_db()
    assert (reservation.status, reservation.cancel_reason) == (S.CANCELLED, "Livre abîmé")
    (email,) = mailbox.outbox
    assert email.to == ["jeanne@example.org"] and "Livre abîmé" in email.body
    reserve(line, reader_email="next@example.org")  # the copy is available again


def test_reader_cancel_tells_the_shop(mailbox):
    line = StockLineFactory()
    reservation = reserve(line)
    with mailbox():
        reservation_cancel(reservation=reservation, reason="", by_reader=True)
    assert sorted(m.to[0] for m in mailbox.outbox) == sorted(["jeanne@example.org", line.shop.email])
    assert reservation.events.last().actor == "reader"


ALL = list(S)


@pytest.mark.parametrize(
    "start, target",
    [(a, b) for a, b in itertools.product(ALL, ALL) if b not in Reservation.TRANSITIONS[a]],
)
def test_only_valid_transitions(start, target):
    line = StockLineFactory(quantity=3)
    reservation = reserve(line)
    Reservation.objects.filter(pk=reservation.pk).update(status=start, pickup_deadline=timezone.now())
    events = ReservationEvent.objects.count()
    line_before = held(line)
    with pytest.raises(InvalidTransition):
        reservation_transition(reservation=reservation, to_status=target)
    assert Reservation.objects.get().status == start
    assert ReservationEvent.objects.count() == events
    assert held(line) == line_before


def test_a_stale_object_cannot_move_twice():
    line = StockLineFactory(quantity=1)
    reservation = reserve(line)
    stale = Reservation.objects.get(pk=reservation.pk)
    reservation_cancel(reservation=reservation, reason="rupture", user=UserFactory())
    with pytest.raises(InvalidTransition):
        reservation_collect(reservation=stale)
    assert held(line) == (1, 0)  # released once, not twice


def test_redirect_moves_the_hold_and_tells_the_reader(mailbox):
    here = StockLineFactory(quantity=1)
    there = StockLineFactory(book=here.book, quantity=2)
    reservation = reserve(here)
    with mailbox():
        new = reservation_move_to_shop(
            reservation=reservation, shop=there.shop, user=UserFactory(), reason="plus chez nous"
        )
    reservation.refresh_from_db()
    assert reservation.status == S.REDIRECTED and reservation.redirected_to == new
    assert new.shop == there.shop and new.referred_by_shop == here.shop and new.status == S.REQUESTED
    assert held(here) == (1, 0) and held(there) == (2, 1)
    subjects = mailbox.kinds_to("jeanne@example.org")
    assert len(subjects) == 1 and "transférée" in subjects[0], "the reader gets one clear e-mail"
    redirected = next(m for m in mailbox.outbox if "transférée" in m.subject)
    assert new.reference in redirected.body and there.shop.name in redirected.body


@pytest.mark.parametrize("language, month", [("fr", "novembre"), ("en", "November")])
def test_reader_emails_use_the_readers_language(mailbox, language, month):
    line = StockLineFactory(shop=ShopFactory(hold_days=2))
    reservation = reserve(line, language=language)
    with mailbox():
        reservation_confirm(reservation=reservation, now=at(2026, 11, 20, 15))
    (ready,) = mailbox.outbox
    assert f"23 {month} 2026" in ready.body
    assert Reservation.objects.get().language == language


def test_shop_emails_stay_in_french_whatever_the_reader_speaks(mailbox):
    line = StockLineFactory()
    with mailbox():
        reserve(line, language="en", now=at(2026, 11, 20, 15))
    shop = next(m for m in mailbox.outbox if m.to == [line.shop.email])
    assert shop.subject.startswith("Nouvelle réservation") and "novembre" in shop.body


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_a_mail_server_failure_loses_nothing_and_is_retried(settings, mailbox):
    settings.EMAIL_BACKEND = "tests.reservations.test_services.BrokenBackend"
    line = StockLineFactory()
    with mailbox():
        reservation = reserve(line)
    assert Reservation.objects.filter(pk=reservation.pk).exists()
    assert held(line) == (3, 1)
    failed = OutgoingEmail.objects.failed()
    assert failed.count() == 2
    assert all("SMTP server down" in e.last_error and e.failed_at for e in failed)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core.management import call_command

    call_command("send_pending_emails")
    assert OutgoingEmail.objects.pending().count() == 0
    assert len(mail.outbox) == 2


def test_import_after_a_hold_keeps_it():
    line = StockLineFactory(quantity=3)
    shop, isbn = line.shop, line.book.isbn
    reserve(line)
    stock_import(shop=shop, data=f"EAN;Qté\r\n{isbn};4\r\n".encode())
    assert held(line) == (4, 1)
    stock_import(shop=shop, data=f"EAN;Qté\r\n{isbn};1\r\n".encode())
    assert held(line) == (1, 1)
    with pytest.raises(InsufficientStock):
        reserve(line, reader_email="late@example.org")


def test_a_collected_copy_is_gone_until_the_next_snapshot():
    line = StockLineFactory(quantity=2)
    shop, isbn = line.shop, line.book.isbn
    reservation = reserve(line)
    reservation_confirm(reservation=reservation)
    reservation_collect(reservation=reservation)
    assert held(line) == (1, 0)
    # A snapshot taken after the sale reports one copy: still one, not zero or two.
    stock_import(shop=shop, data=f"EAN;Qté\r\n{isbn};1\r\n".encode())
    assert held(line) == (1, 0)
    # The shop received new copies: the next snapshot is the truth.
    stock_import(shop=shop, data=f"EAN;Qté\r\n{isbn};5\r\n".encode())
    assert held(line) == (5, 0)
    line.refresh_from_db()
    assert StockLine.objects.annotate_available().values_list("available", flat=True).get(pk=line.pk) == 5


def test_a_snapshot_below_held_never_breaks_collect():
    line = StockLineFactory(quantity=2)
    reservation = reserve(line, quantity=2)
    stock_import(shop=line.shop, data=f"EAN;Qté\r\n{line.book.isbn};1\r\n".encode(), force=True)
    reservation_collect(reservation=reservation)
    assert held(line) == (0, 0)


def test_created_by_staff_is_recorded():
    user = UserFactory()
    reservation = reservation_create(
        stock_line=StockLineFactory(), quantity=1, reader_name="X", reader_email="x@example.org", user=user
    )
    assert reservation.events.get().user == user


VALID = [(a, b) for a in ALL for b in Reservation.TRANSITIONS[a]]
#: (quantity, held) of a 3-copy line after a 1-copy reservation makes each move.
STOCK_AFTER = {S.CONFIRMED: (3, 1), S.COLLECTED: (2, 0), S.CANCELLED: (3, 0), S.EXPIRED: (3, 0), S.REDIRECTED: (3, 0)}
SUBJECT_WORD = {
    S.CONFIRMED: "vous attend",
    S.COLLECTED: "retirée",
    S.CANCELLED: "annulée",
    S.EXPIRED: "expiré",
    S.REDIRECTED: "transférée",
}


@pytest.mark.parametrize("start, target", VALID)
def test_every_valid_transition(start, target, mailbox):
    line = StockLineFactory(quantity=3)
    other = StockLineFactory(book=line.book, quantity=3)
    reservation = reserve(line, now=at(2026, 11, 2))
    if start == S.CONFIRMED:
        reservation_confirm(reservation=reservation, now=at(2026, 11, 2, 15))
    user = UserFactory()
    with mailbox():
        if target == S.REDIRECTED:
            reservation_move_to_shop(reservation=reservation, shop=other.shop, user=user)
        elif target == S.EXPIRED:
            reservation_expire(reservation=reservation, now=at(2026, 11, 30))
        elif target == S.CANCELLED:
            reservation_cancel(reservation=reservation, reason="motif", user=user)
        else:
            {S.CONFIRMED: reservation_confirm, S.COLLECTED: reservation_collect}[target](
                reservation=reservation, user=user
            )
    reservation.refresh_from_db()
    assert reservation.status == target
    event = reservation.events.last()
    assert (event.from_status, event.to_status) == (start, target)
    assert event.actor == ("system" if target == S.EXPIRED else "staff")
    assert held(line) == STOCK_AFTER[target]
    assert any(SUBJECT_WORD[target] in m.subject for m in mailbox.outbox if m.to == ["jeanne@example.org"])
    assert all(m.alternatives for m in mailbox.outbox)
