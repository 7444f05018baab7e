"""Told whenever what a reader could get at a shop changed: who else must know (alerts, orders, pass Culture).

Every workflow that changes a line's ``quantity``, ``held`` or ``price`` (a
snapshot or PATCH, a hold, a release, a collection) sends ``stock_changed``
inside its transaction, with ``shop_id``, ``book_ids`` and ``copies_freed``
(False when copies were only taken: a hold, a collection). Receivers that do
work enqueue it on commit (``portal.tasks.enqueue_on_commit``), so a rollback
tells nobody. An explicit call, not a model signal nor a timestamp: receivers
get the exact lines, and imports keep pointing down.
"""

from django.dispatch import Signal

#: Sent with ``shop_id``, ``book_ids`` (the lines of that shop whose availability changed) and ``copies_freed``;
#: ``shop`` is the shop's row when the sender has it loaded (a receiver may read its flags instead of querying).
stock_changed = Signal()
