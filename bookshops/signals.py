"""Told when a shop joins or leaves the network (``Shop.is_active``): its copies count for readers or not.

Sent inside the transaction that saved the shop, with ``shop_id``. The catalogue's
search documents, which keep the shops holding each book, follow it; bookshops
cannot call the catalogue (imports point down), hence a signal.
"""

from django.dispatch import Signal

#: Sent with ``shop_id`` after its ``is_active`` changed.
shop_membership_changed = Signal()
