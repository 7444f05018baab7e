"""Background work of the catalogue: refreshing the search index after imports and edits."""

from collections.abc import Iterable

from django.conf import settings

from portal.tasks import enqueue_on_commit, outbox_catch_up, outbox_run, task

from .models import IndexRefresh
from .search import INDEX_CHUNK, update_index


def index_refresh_later(book_ids: Iterable[int]) -> list[IndexRefresh]:
    """Refresh these books' search documents in a task once the transaction commits; nothing is lost if it fails."""
    ids = sorted({int(pk) for pk in book_ids if pk is not None})
    if not ids:
        return []
    rows = IndexRefresh.objects.bulk_create(
        IndexRefresh(book_ids=ids[start : start + INDEX_CHUNK]) for start in range(0, len(ids), INDEX_CHUNK)
    )
    enqueue_on_commit(refresh_search_index, [row.pk for row in rows])
    return rows


def _refresh(row: IndexRefresh) -> None:
    update_index(row.book_ids)


@task()
def refresh_search_index(refresh_ids: list[int]) -> dict:
    """Refresh the search documents these ``IndexRefresh`` rows list (those still pending); retried on failure."""
    return outbox_run(
        IndexRefresh,
        refresh_ids,
        _refresh,
        max_attempts=settings.SEARCH_INDEX_MAX_ATTEMPTS,
        retry=refresh_search_index,
    )


def index_refresh_pending(*, now=None) -> dict:
    """Do every index refresh still pending (failed, or left by a stopped worker) here and now."""
    return outbox_catch_up(IndexRefresh, _refresh, max_attempts=settings.SEARCH_INDEX_MAX_ATTEMPTS, now=now)
