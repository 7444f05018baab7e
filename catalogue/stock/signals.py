"""Told whenever copies may have become available somewhere: who else must know (alerts, orders, pass Culture).

``stock_changed`` is sent inside the transaction that changes the lines, with
``shop_id`` and ``book_ids``; receivers that do work enqueue it on commit
(``portal.tasks.enqueue_on_commit``), so a rollback tells nobody.
"""

from django.dispatch import Signal

#: Sent with ``shop_id`` and ``book_ids`` (the lines of that shop whose availability changed).
stock_changed = Signal()
