"""Background work: Django's Tasks API, and the outbox rows that make it lose nothing.

The one import of the Tasks API in the tree: ``django.tasks`` on Django 6,
its backport ``django_tasks`` on Django 5.2 (same names, same behaviour).

Work that must not be lost (an e-mail, a search-index refresh) is written as
an ``Outbox`` row in the same transaction as the change that calls for it;
a task enqueued on commit does it. A failure is recorded on the row and
retried by a later task (when the backend can defer) or by the cron safety
net, which also picks up rows a killed worker left behind; after the last
attempt the row is given up and logged as an error.
"""

import datetime
import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import partial

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks_db.backend import DatabaseBackend

from .routers import reset_primary, use_primary

try:
    from django.tasks import TaskResultStatus, default_task_backend, task, task_backends  # Django 6
except ImportError:
    from django_tasks import TaskResultStatus, default_task_backend, task, task_backends

__all__ = [
    "Outbox",
    "TaskResultStatus",
    "default_task_backend",
    "enqueue_on_commit",
    "outbox_catch_up",
    "outbox_run",
    "task",
    "task_backends",
]

logger = logging.getLogger(__name__)

#: A row being worked on is skipped by others for this long (then a killed worker's row is taken again).
CLAIM_FOR = datetime.timedelta(minutes=10)
#: The cron safety net leaves younger rows that were never tried to the task enqueued on commit.
FIRST_ATTEMPT_ALONE = datetime.timedelta(minutes=1)
#: Retries wait 1, 2, 4 … minutes, at most an hour.
RETRY_FIRST_DELAY = datetime.timedelta(minutes=1)
RETRY_MAX_DELAY = datetime.timedelta(hours=1)


def enqueue_on_commit(task_, *args) -> None:
    """Enqueue ``task_(*args)`` so that it runs only once the current transaction has committed.

    The database backend's queue is a table of this database: its row is written inside the
    transaction (workers see it at commit, a rollback removes it, and it costs no commit of its
    own). Any other backend is called after commit.
    """
    if isinstance(task_.get_backend(), DatabaseBackend) and transaction.get_connection().in_atomic_block:
        task_.enqueue(*args)
    else:
        transaction.on_commit(partial(task_.enqueue, *args))


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long to wait before the next attempt after ``attempts`` failed ones."""
    return min(RETRY_FIRST_DELAY * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)


class OutboxQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(**{f"{self.model.DONE_FIELD}__isnull": True}, gave_up_at__isnull=True)

    def failed(self):
        return self.pending().filter(attempts__gt=0)

    def free(self, now):
        return self.pending().filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))

    def due(self, now):
        """What the safety net does: pending, not being worked on, and already tried or no longer fresh."""
        return self.free(now).filter(Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_ATTEMPT_ALONE))

    def claim(self, pk, now) -> bool:
        """Take row ``pk`` for ``CLAIM_FOR``; False if it is done, given up or taken by another worker."""
        return bool(self.free(now).filter(pk=pk).update(locked_until=now + CLAIM_FOR))


class Outbox(models.Model):
    """Work written with the change that calls for it, done after commit by a task; see the module."""

    #: The field set when the work is done.
    DONE_FIELD = "done_at"
    #: Fields ``work`` fills in, kept whether it then succeeds or fails.
    KEPT_FIELDS: tuple[str, ...] = ()
    #: Relations ``work`` reads, loaded with the row.
    WORK_RELATED: tuple[str, ...] = ()

    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    failed_at = models.DateTimeField(_("dernier échec le"), null=True, blank=True)
    gave_up_at = models.DateTimeField(_("abandonné le"), null=True, blank=True)
    locked_until = models.DateTimeField(_("en cours jusqu'à"), null=True, blank=True, editable=False)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        abstract = True


@contextmanager
def _on_primary():
    # Background work reads what the change it follows has just written: never from a lagging replica.
    token = use_primary()
    try:
        yield
    finally:
        reset_primary(token)


def outbox_run(
    model: type[Outbox],
    ids: Iterable[int],
    work: Callable[[Outbox], object],
    *,
    max_attempts: int,
    retry=None,
    now: datetime.datetime | None = None,
) -> dict:
    """Do ``work(row)`` for each pending row of ``ids``; returns {"done", "failed", "skipped"} counts.

    ``work`` raises on failure and may fill the row's ``KEPT_FIELDS``. A failed
    row is retried by ``retry`` (a task taking a list of ids) after a backoff
    when the backend can defer it; otherwise the cron safety net retries it.
    """
    with _on_primary():
        return _outbox_run(model, ids, work, max_attempts=max_attempts, retry=retry, now=now)


def _outbox_run(model, ids, work, *, max_attempts, retry, now) -> dict:
    counts = {"done": 0, "failed": 0, "skipped": 0}
    retries = []
    for pk in ids:
        started = now or timezone.now()
        if not model.objects.claim(pk, started):
            counts["skipped"] += 1
            continue
        row = model.objects.select_related(*model.WORK_RELATED).get(pk=pk)
        kept = list(model.KEPT_FIELDS)
        try:
            work(row)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never raised
            row.attempts += 1
            row.failed_at, row.last_error, row.locked_until = started, f"{type(exc).__name__}: {exc}"[:2000], None
            if row.attempts >= max_attempts:
                row.gave_up_at = started
            _store(row, [*kept, "attempts", "failed_at", "last_error", "locked_until", "gave_up_at"])
            log = logger.error if row.gave_up_at else logger.warning
            log(
                "%s %s failed, attempt %s of %s%s: %s",
                model._meta.label,
                pk,
                row.attempts,
                max_attempts,
                ", given up" if row.gave_up_at else "",
                row.last_error,
            )
            counts["failed"] += 1
            if not row.gave_up_at:
                retries.append(row)
            continue
        setattr(row, model.DONE_FIELD, now or timezone.now())
        row.attempts, row.locked_until = F("attempts") + 1, None
        _store(row, [*kept, model.DONE_FIELD, "attempts", "locked_until"])
        counts["done"] += 1
    if retries and retry is not None and retry.get_backend().supports_defer:
        run_after = timezone.now() + retry_delay(min(r.attempts for r in retries))
        enqueue_on_commit(retry.using(run_after=run_after), [r.pk for r in retries])
    return counts


def _store(row: Outbox, fields: list[str]) -> None:
    # An UPDATE, never save(): a row deleted meanwhile (purged) must stay deleted.
    type(row).objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in dict.fromkeys(fields)})


def outbox_catch_up(model: type[Outbox], work, *, max_attempts: int, now=None) -> dict:
    """The safety net (cron): do every row that is due now, in this process, worker or not."""
    now = now or timezone.now()
    with _on_primary():
        ids = list(model.objects.due(now).order_by("pk").values_list("pk", flat=True))
    return outbox_run(model, ids, work, max_attempts=max_attempts, now=now)
