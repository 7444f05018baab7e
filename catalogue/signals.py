"""Told when a book changes in a way other apps wait for (alerts): sent inside the change's transaction.

Receivers that do work enqueue it on commit (``portal.tasks.enqueue_on_commit``), so a rollback
tells nobody and the catalogue never imports the apps above it.
"""

from django.dispatch import Signal

from .models import Book

#: Sent with ``book_ids``: books the publisher had announced (« à paraître ») and now makes available.
books_released = Signal()


def books_released_send(*, sender, before: dict[int, str], books) -> list[int]:
    """Send ``books_released`` for those of ``books`` that were forthcoming (``before``: pk -> availability) and
    are now available; returns their ids."""
    released = sorted(
        book.pk
        for book in books
        if before.get(book.pk) == Book.Availability.FORTHCOMING and book.availability == Book.Availability.AVAILABLE
    )
    if released:
        books_released.send(sender=sender, book_ids=released)
    return released
