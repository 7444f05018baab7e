"""The price a result list shows for a book: in France one price per book (prix unique du livre)."""

from django.db.models import F, Min

from .models import StockLine


def book_prices(*, book_ids: list[int]) -> dict:
    """{book id: price} from the shops' lines with copies to reserve, else from any line that has a price."""
    lines = StockLine.objects.filter(book_id__in=book_ids, price__isnull=False)
    prices = dict(lines.values("book_id").annotate(p=Min("price")).values_list("book_id", "p"))
    available = lines.filter(quantity__gt=F("held"), shop__is_active=True)
    prices.update(available.values("book_id").annotate(p=Min("price")).values_list("book_id", "p"))
    return prices
