import datetime

import pytest
from django.core.management import call_command

from reservations.exceptions import InvalidTransition
from reservations.models import Reservation
from reservations.services import (
    reservation_cancel,
    reservation_confirm,
    reservation_expire,
    reservations_expire_due,
    reservations_purge_personal_data,
)
from tests.factories import ShopFactory, StockLineFactory, reserve

pytestmark = pytest.mark.django_db
S = Reservation.Status
PARIS = datetime.timezone(datetime.timedelta(hours=1))


def at(d, hour=12):
    return datetime.datetime(2026, 11, d, hour, tzinfo=PARIS)


def test_unconfirmed_reservation_reminds_the_shop_then_expires(mailbox):
    line = StockLineFactory(quantity=1)
    with mailbox():
        reservation = reserve(line, now=at(20))  # Friday; confirm within 2 opening days
    assert reservation.remind_at == at(21, 19)  # Saturday closing
    assert reservation.confirm_by == at(23, 19)  # Monday closing (Sunday closed)
    mailbox.outbox.clear()

    with mailbox():
        assert reservations_expire_due(now=at(21, 18)) == {
            "reminded": 0,
            "expired_unconfirmed": 0,
            "expired_uncollected": 0,
        }
        assert reservations_expire_due(now=at(22, 10))["reminded"] == 1
        assert reservations_expire_due(now=at(22, 11))["reminded"] == 0  # once only
    (reminder,) = mailbox.outbox
    assert reminder.to == [line.shop.email] and "à confirmer" in reminder.subject
    mailbox.outbox.clear()

    with mailbox():
        report = reservations_expire_due(now=at(23, 19))
    assert report["expired_unconfirmed"] == 1
    reservation.refresh_from_db()
    assert reservation.status == S.EXPIRED
    assert reservation.events.last().actor == "system"
    assert "confirmée à temps" in reservation.events.last().reason
    line.refresh_from_db()
    assert line.held == 0
    (expired,) = mailbox.outbox
    assert expired.to == ["jeanne@example.org"] and "expiré" in expired.subject
    assert "pas pu confirmer" in expired.body


def test_never_expires_without_reminding_first():
    reservation = reserve(StockLineFactory(), now=at(20))
    # The cron was down for days: the first run reminds, the next one expires.
    report = reservations_expire_due(now=at(26))
    assert report == {"reminded": 1, "expired_unconfirmed": 0, "expired_uncollected": 0}
    assert reservations_expire_due(now=at(26, 13))["expired_unconfirmed"] == 1
    reservation.refresh_from_db()
    assert reservation.status == S.EXPIRED


def test_confirmed_reservation_expires_after_the_pickup_deadline(mailbox):
    line = StockLineFactory(shop=ShopFactory(hold_days=1), quantity=2)
    reservation = reserve(line, now=at(19))
    reservation_confirm(reservation=reservation, now=at(20, 15))
    reservation.refresh_from_db()
    assert reservation.pickup_deadline == at(21, 19)
    assert reservations_expire_due(now=at(21, 18))["expired_uncollected"] == 0
    with mailbox():
        assert reservations_expire_due(now=at(21, 19))["expired_uncollected"] == 1
    reservation.refresh_from_db()
    assert reservation.status == S.EXPIRED
    line.refresh_from_db()
    assert (line.quantity, line.held) == (2, 0)
    (email,) = mailbox.outbox
    assert "pas été retirée" in email.body and "21 novembre 2026" in email.body


def test_expire_refuses_what_is_not_due():
    reservation = reserve(StockLineFactory(), now=at(20))
    with pytest.raises(InvalidTransition):
        reservation_expire(reservation=reservation, now=at(20, 13))
    assert Reservation.objects.get().status == S.REQUESTED


def test_command_is_idempotent_and_skips_what_changed_meanwhile():
    line = StockLineFactory(quantity=3)
    due = reserve(line, now=at(2), reader_email="a@example.org")
    cancelled = reserve(line, now=at(2), reader_email="b@example.org")
    reservations_expire_due(now=at(3, 20))  # reminders
    stale = Reservation.objects.get(pk=cancelled.pk)
    reservation_cancel(reservation=cancelled, reason="", by_reader=True)
    # A second run (or a parallel one) found the row before it was cancelled.
    with pytest.raises(InvalidTransition):
        reservation_expire(reservation=stale, now=at(10))
    call_command("expire_reservations")
    call_command("expire_reservations")
    due.refresh_from_db()
    assert due.status == S.EXPIRED
    assert due.events.filter(to_status=S.EXPIRED).count() == 1
    line.refresh_from_db()
    assert line.held == 0


def test_purge_anonymises_only_old_closed_reservations():
    line = StockLineFactory(quantity=5)
    old = reserve(line, reader_email="old@example.org", reader_phone="0600000000", note="merci")
    reservation_cancel(reservation=old, reason="", by_reader=True, now=at(1) - datetime.timedelta(days=400))
    recent = reserve(line, reader_email="recent@example.org")
    reservation_cancel(reservation=recent, reason="", by_reader=True, now=at(1))
    active = reserve(line, reader_email="active@example.org", now=at(1) - datetime.timedelta(days=500))
    assert reservations_purge_personal_data(now=at(2), days=365) == 1
    old.refresh_from_db()
    assert (old.reader_name, old.reader_email, old.reader_phone, old.note) == ("", "", "", "")
    assert old.anonymised_at == at(2) and not old.emails.exists()
    recent.refresh_from_db()
    active.refresh_from_db()
    assert recent.reader_email == "recent@example.org" and active.reader_email == "active@example.org"
    assert reservations_purge_personal_data(now=at(2), days=365) == 0


def test_purge_command_uses_the_retention_setting(settings):
    from io import StringIO

    from django.utils import timezone

    settings.RESERVATIONS_RETENTION_DAYS = 30
    reservation = reserve(StockLineFactory())
    reservation_cancel(
        reservation=reservation, reason="", by_reader=True, now=timezone.now() - datetime.timedelta(days=31)
    )
    out = StringIO()
    call_command("purge_reservations", stdout=out)
    assert "anonymisées : 1" in out.getvalue()
    reservation.refresh_from_db()
    assert reservation.reader_email == "" and reservation.anonymised_at
