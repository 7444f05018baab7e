"""Everything about a stock line: what one shop holds of one book.

- ``availability``: which copies a reader can get (the QuerySet and its SQL twin);
- ``signals``: ``stock_changed``, sent by every workflow that changes a line's availability;
- ``holds``: copies set aside for reservations, released, or taken on collection;
- ``snapshots``: a shop's stock file applied as its whole stock (or a few lines);
- ``files``: reading the stock files shop software exports; ``bulk``: writing many rows fast;
- ``selectors``: a book's lines nearest the reader, the nearest holder of each result;
- ``api``: the point-of-sale API that pushes stock.
"""
