"""Background work through the real database queue (django-tasks-db) and its worker, run in this process."""

import datetime
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalogue.models import IndexRefresh, StockImport
from catalogue.search import search_books
from catalogue.stock.snapshots import stock_import
from portal.tasks import CLAIM_FOR, TaskResultStatus
from reservations.emails import email_send_pending
from reservations.models import OutgoingEmail
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, reserve

# Real commits: tasks are enqueued on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker():
    """What `manage.py db_worker` does, until no task is ready."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)


def a_minute_later():
    """Deferred retries become due (the clock moves on)."""
    return DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_the_request_only_writes_the_intent_and_the_worker_renders_and_sends(db_tasks):
    line = StockLineFactory(quantity=3)
    reservation = reserve(line, language="en")
    emails = OutgoingEmail.objects.order_by("pk")
    assert [(e.kind, e.language, e.subject, e.sent_at) for e in emails] == [
        ("received", "en", "", None),
        ("shop_new", "fr", "", None),
    ]
    assert mail.outbox == []
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY

    run_worker()
    reader, shop = sorted(mail.outbox, key=lambda m: m.to != ["jeanne@example.org"])
    # The worker writes in each reader's language: the reader chose English, the shop reads French.
    assert reader.subject == f"Your reservation {reservation.reference} has been received"
    assert shop.subject.startswith(f"Nouvelle réservation {reservation.reference}")
    assert reservation.get_reader_url() in reader.body
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL
    assert all(e.sent_at and e.attempts == 1 and e.subject for e in OutgoingEmail.objects.all())

    run_worker()  # nothing left: nothing sent twice
    assert len(mail.outbox) == 2


def test_a_failed_email_is_retried_later_then_given_up_reported_and_retried_on_demand(
    db_tasks, settings, caplog, client
):
    settings.EMAIL_BACKEND = "tests.test_tasks.BrokenBackend"
    settings.RESERVATIONS_EMAIL_MAX_ATTEMPTS = 3
    line = StockLineFactory(shop=ShopFactory(email=""))  # only the reader's e-mail
    reservation = reserve(line)

    run_worker()
    email = OutgoingEmail.objects.get()
    assert (email.attempts, email.sent_at, email.gave_up_at) == (1, None, None)
    assert "SMTP server down" in email.last_error and email.subject  # rendered once, kept for the retries
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert datetime.timedelta(seconds=50) < retry.run_after - timezone.now() <= datetime.timedelta(minutes=1)

    run_worker()  # the retry is not due yet
    assert OutgoingEmail.objects.get().attempts == 1

    a_minute_later()
    run_worker()
    assert OutgoingEmail.objects.get().attempts == 2
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.run_after - timezone.now() > datetime.timedelta(seconds=110)  # the wait doubles

    a_minute_later()
    with caplog.at_level(logging.WARNING, logger="portal.tasks"):
        run_worker()
    email = OutgoingEmail.objects.get()
    assert email.attempts == 3 and email.gave_up_at is not None
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()  # no more retries
    assert [r.levelname for r in caplog.records if r.name == "portal.tasks"] == ["WARNING", "WARNING", "ERROR"]
    assert "given up" in caplog.text

    # The association sees it in the admin, and sends it again once the mail server is back.
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = reverse("admin:reservations_outgoingemail_changelist")
    page = client.get(changelist, {"gave_up_at__isempty": "0"}).content.decode()
    assert reservation.reference in page and "jeanne@example.org" in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("send_pending_emails")  # a given-up e-mail waits for a person
    assert mail.outbox == []
    response = client.post(changelist, {"action": "retry_now", "_selected_action": [email.pk]})
    assert response.status_code == 302
    run_worker()
    assert [m.to for m in mail.outbox] == [["jeanne@example.org"]]
    assert OutgoingEmail.objects.get().sent_at is not None


def test_a_killed_worker_loses_no_email(db_tasks):
    reserve(StockLineFactory(shop=ShopFactory(email="")))
    # A worker claims the task and the e-mail, then is killed (kill -9) before sending.
    task = DBTaskResult.objects.get()
    task.claim("killed-worker")
    email = OutgoingEmail.objects.get()
    assert OutgoingEmail.objects.claim(email.pk, timezone.now())

    run_worker()  # the next worker: the task is RUNNING for ever (the queue never re-runs it)...
    assert mail.outbox == []
    call_command("send_pending_emails")  # ...and the safety net leaves a claimed e-mail alone for a while,
    assert mail.outbox == []
    later = timezone.now() + CLAIM_FOR + datetime.timedelta(seconds=1)
    assert email_send_pending(now=later) == {"sent": 1, "failed": 0}  # ...then sends it: nothing is lost
    assert len(mail.outbox) == 1 and OutgoingEmail.objects.get().sent_at is not None


def test_a_task_enqueued_while_no_worker_runs_waits_for_the_next_one(db_tasks):
    reserve(StockLineFactory())
    assert mail.outbox == [] and DBTaskResult.objects.get().status == TaskResultStatus.READY
    run_worker()
    assert len(mail.outbox) == 2


def test_a_failing_index_refresh_keeps_the_import_record_and_is_retried(db_tasks, monkeypatch, caplog, client):
    import catalogue.tasks

    real_update_index = catalogue.tasks.update_index
    calls = []

    def flaky(book_ids):
        calls.append(list(book_ids))
        if len(calls) == 1:
            raise RuntimeError("search index unavailable")
        return real_update_index(book_ids)

    monkeypatch.setattr(catalogue.tasks, "update_index", flaky)
    shop = ShopFactory()
    book = BookFactory(title="Landes et forêts")
    record = stock_import(shop=shop, data=f"EAN;Qté\r\n{book.isbn};4\r\n".encode())
    assert StockImport.objects.get(pk=record.pk).status == StockImport.Status.APPLIED
    refresh = IndexRefresh.objects.get()
    assert refresh.book_ids == [book.pk] and refresh.done_at is None

    with caplog.at_level(logging.WARNING, logger="portal.tasks"):
        run_worker()
    refresh.refresh_from_db()
    assert refresh.attempts == 1 and "search index unavailable" in refresh.last_error and refresh.done_at is None
    assert "catalogue.IndexRefresh" in caplog.text
    assert search_books(query="landes", in_stock_only=True).total == 0
    # The association sees the failed refresh in the admin.
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:catalogue_indexrefresh_changelist")).content.decode()
    assert "search index unavailable" in page

    a_minute_later()
    run_worker()
    refresh.refresh_from_db()
    assert refresh.done_at is not None and refresh.attempts == 2
    assert [b.title for b in search_books(query="landes", in_stock_only=True).books] == ["Landes et forêts"]
    assert StockImport.objects.get(pk=record.pk).status == StockImport.Status.APPLIED


def test_the_cron_safety_net_refreshes_what_a_stopped_worker_left(db_tasks):
    book = BookFactory(title="Chroniques du Médoc")
    stock_import(shop=ShopFactory(), data=f"EAN;Qté\r\n{book.isbn};2\r\n".encode())
    assert search_books(query="medoc").total == 0  # no worker ran
    call_command("rebuild_search_index", "--pending")  # too fresh: the task enqueued on commit does it
    assert search_books(query="medoc").total == 0
    IndexRefresh.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    call_command("rebuild_search_index", "--pending")
    assert search_books(query="medoc").total == 1
    run_worker()  # the task finds it done: nothing done twice
    assert IndexRefresh.objects.get().attempts == 1


def test_a_rolled_back_reservation_leaves_no_email_and_no_task(db_tasks):
    from reservations.exceptions import InsufficientStock

    line = StockLineFactory(quantity=1)
    stale = type(line).objects.select_related("shop", "book").get(pk=line.pk)  # read before the last copy goes
    reserve(line)
    assert (OutgoingEmail.objects.count(), DBTaskResult.objects.count()) == (2, 1)
    with pytest.raises(InsufficientStock):
        reserve(stale, reader_email="late@example.org")  # the hold fails last, after the e-mails were queued
    assert (OutgoingEmail.objects.count(), DBTaskResult.objects.count()) == (2, 1)
    run_worker()
    assert [m.to for m in mail.outbox].count(["late@example.org"]) == 0 and len(mail.outbox) == 2


def test_background_work_reads_from_the_primary_even_with_a_replica(db_tasks, monkeypatch, mailoutbox):
    """A refresh right after an import must not read the books from a replica that lags behind."""
    from catalogue.tasks import refresh_search_index
    from portal import routers
    from reservations.emails import emails_send

    book = BookFactory(title="Brumes du Bassin")
    StockLineFactory(book=book)
    refresh = IndexRefresh.objects.create(book_ids=[book.pk])
    reserve(StockLineFactory(shop=ShopFactory(email="")))
    # A replica alias that does not exist here: any read sent to it would fail the task.
    monkeypatch.setattr(routers, "replica_configured", lambda: True)
    assert refresh_search_index.call([refresh.pk]) == {"done": 1, "failed": 0, "skipped": 0}
    assert emails_send.call(list(OutgoingEmail.objects.values_list("pk", flat=True)))["done"] == 1
    monkeypatch.setattr(routers, "replica_configured", lambda: False)
    assert search_books(query="brumes").total == 1 and len(mailoutbox) == 1
