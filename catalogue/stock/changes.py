"""Telling the apps above that what a reader could get at a shop has changed.

Every workflow that changes a line's ``quantity``, ``held`` or ``price``
(a snapshot or PATCH, a hold, a release or a collection) calls
``availability_changed_send`` inside its transaction. An explicit call, not a
model signal nor a timestamp: receivers (the pass Culture push) get the exact
lines, in the same transaction, and imports keep pointing down (catalogue
knows nothing of who listens).
"""

from collections.abc import Iterable

from django.dispatch import Signal

#: Sent with ``shop_id`` and ``book_ids`` (a list) inside the transaction of the change.
availability_changed = Signal()


def availability_changed_send(*, shop_id: int, book_ids: Iterable[int]) -> None:
    """Tell the receivers that these lines of this shop changed (no-op when none listens or nothing changed)."""
    ids = sorted(set(book_ids))
    if ids and availability_changed.has_listeners():
        availability_changed.send(sender=None, shop_id=shop_id, book_ids=ids)
