"""Stock imports off the request path: the worker runs the import a request recorded."""

from django.conf import settings

from portal.tasks import enqueue_on_commit, task

from ..models import StockImport
from .snapshots import stock_import_run


@task()
def run_stock_import(stock_import_id: int) -> str:
    """Run a recorded import (a second run of the same one does nothing); returns its status."""
    return stock_import_run(stock_import_id=stock_import_id).status


def stock_import_start(*, stock_import: StockImport) -> StockImport:
    """Run a small import here and now, hand a bigger one to the worker; returns the record as it then stands.

    ``STOCK_IMPORT_INLINE_MAX_BYTES`` keeps a request's own work far below the
    server's timeout whatever the file (a few thousand lines take well under a second).
    """
    if stock_import.file.size <= settings.STOCK_IMPORT_INLINE_MAX_BYTES:
        return stock_import_run(stock_import_id=stock_import.pk)
    enqueue_on_commit(run_stock_import, stock_import.pk)
    return StockImport.objects.select_related("shop").get(pk=stock_import.pk)
