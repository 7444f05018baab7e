"""Reads of stock lines a reader or a bookseller is shown: a book's holders, nearest first."""

import functools
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, connections, router
from django.db.models import Min, Q

from bookshops.geo import nearest_first, shop_ids_near, with_distances, within_box
from bookshops.models import Shop
from bookshops.selectors import attach_open_now

from ..models import Book, StockLine
from .availability import available_q

#: Shops shown anyway, nearest first, when none is within the radius.
NEAREST_ANYWAY = 5


@dataclass
class BookStock:
    """The stock lines of one book a reader is shown, nearest first when their location is known."""

    lines: list
    location: object = None
    #: Nothing was within the radius: ``lines`` are the nearest shops anyway.
    none_within_radius: bool = False
    #: Shops holding the book beyond the radius, not listed.
    farther_count: int = 0

    def __iter__(self):
        return iter(self.lines)

    def __len__(self):
        return len(self.lines)

    def __bool__(self):
        return bool(self.lines)


def book_lines_queryset(book):
    """Lines of ``book`` with copies a reader could reserve, in active shops."""
    return StockLine.objects.filter(book=book).available().select_related("shop")


def _lines_within(lines, lat: float, lon: float, radius_km: float) -> list:
    near = with_distances(
        list(within_box(lines, lat, lon, radius_km, prefix="shop__")), lat, lon, lambda line: line.shop
    )
    return [line for line in near if line.distance_km <= radius_km]


def book_lines_near(book, lat: float, lon: float, radius_km: float) -> list:
    """Lines of ``book`` in shops within ``radius_km``, nearest first, with ``.distance_km``."""
    return _lines_within(book_lines_queryset(book), lat, lon, radius_km)


def stock_lines_for_book(book, location=None) -> BookStock:
    """Lines of ``book`` with copies available, in active shops, nearest first when ``location`` is known.

    If no shop within the location's radius has the book, the nearest ones
    are returned anyway, flagged with ``none_within_radius``.
    """
    lines = book_lines_queryset(book)
    if location is None:
        stock = BookStock(lines=list(lines.order_by("shop__name")))
    elif location.radius_km is None:
        ranked = with_distances(list(lines), location.lat, location.lon, lambda line: line.shop)
        stock = BookStock(lines=ranked, location=location)
    else:
        near = _lines_within(lines, location.lat, location.lon, location.radius_km)
        if near:
            stock = BookStock(lines=near, location=location, farther_count=lines.count() - len(near))
        else:
            nearest = nearest_first(lines, location.lat, location.lon, NEAREST_ANYWAY, prefix="shop__")
            stock = BookStock(lines=nearest, location=location, none_within_radius=bool(nearest))
            if not nearest:  # only shops without coordinates hold it
                stock.lines = list(lines.order_by("shop__name"))
    attach_open_now(stock.lines)
    return stock


@dataclass(frozen=True)
class NearbyHolding:
    """For one book of a result page: the nearest shop holding it and how many hold it within the radius."""

    shop: Shop
    #: None when the radius is "any" and the only holder has no coordinates.
    distance_km: float | None
    shops_within_radius: int


def nearest_holdings(
    book_ids, location, *, shop_ids: list[int] | None = None, holders: dict[int, list[int]] | None = None
) -> dict[int, NearbyHolding]:
    """For each book id held within the location's radius: its nearest holder and the number of holders.

    Three queries for a whole result page: the shops in range (bounding box;
    skipped when the caller already has ``shop_ids_near``'s answer), the stock
    lines of those books in those shops (skipped when the caller has
    ``holders``, each book's active shops with a free copy, from the search
    documents), then the nearest holders, whose exact distance is the only one computed.
    """
    shop_ids = list(shop_ids_near(location.lat, location.lon, location.radius_km) if shop_ids is None else shop_ids)
    if location.radius_km is None:  # "any distance": shops without coordinates too, last
        shop_ids += list(
            Shop.objects.active()
            .filter(Q(latitude__isnull=True) | Q(longitude__isnull=True))
            .values_list("pk", flat=True)
        )
    if not shop_ids or not book_ids:
        return {}
    rank = {pk: position for position, pk in enumerate(shop_ids)}
    held: dict[int, list[int]] = defaultdict(list)
    if holders is not None:
        pairs = ((book_id, pk) for book_id in book_ids for pk in holders.get(book_id, ()) if pk in rank)
    else:
        lines = StockLine.objects.filter(book_id__in=list(book_ids), shop_id__in=shop_ids).available()
        pairs = lines.values_list("book_id", "shop_id")
    for book_id, shop_id in pairs:
        held[book_id].append(shop_id)
    nearest = {book_id: min(ids, key=rank.__getitem__) for book_id, ids in held.items()}
    shops = {
        shop.pk: shop
        for shop in with_distances(list(Shop.objects.filter(pk__in=set(nearest.values()))), location.lat, location.lon)
    }
    return {
        book_id: NearbyHolding(shops[shop_id], shops[shop_id].distance_km, len(held[book_id]))
        for book_id, shop_id in nearest.items()
    }


def book_prices(*, book_ids: list[int]) -> dict:
    """{book id: price} for result lists (in France one price per book): from lines a reader can get, else any."""
    rows = (
        StockLine.objects.filter(book_id__in=book_ids, price__isnull=False)
        .values("book_id")
        .annotate(any_line=Min("price"), available=Min("price", filter=available_q()))
        .values_list("book_id", "available", "any_line")
    )
    return {book_id: available if available is not None else any_line for book_id, available, any_line in rows}


@functools.cache
def _line_to_reserve_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{quote(field.column)}"
        for alias, model in (("l", StockLine), ("s", Shop), ("b", Book))
        for field in model._meta.concrete_fields
    )
    return (
        f"SELECT {columns} FROM {quote(StockLine._meta.db_table)} l"
        f" JOIN {quote(Shop._meta.db_table)} s ON s.id = l.shop_id"
        f" JOIN {quote(Book._meta.db_table)} b ON b.id = l.book_id"
        " WHERE l.id = %s AND s.is_active"
    )


def _instance(model, values, using):
    fields = model._meta.concrete_fields
    values = [
        field.from_db_value(value, None, using) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(using.alias, [f.attname for f in fields], values)


def stock_line_to_reserve(*, pk: int) -> StockLine | None:
    """Line ``pk`` of an active shop with its shop and book, as the reservation page loads it; None if none.

    The same row as ``select_related("shop", "book")``, from SQL written once per process: the ORM would
    compile the three-table query on every reservation, a third of its CPU.
    """
    # Where the ORM would have read it: the replica for a reader page, unless this client just wrote.
    reading = connections[router.db_for_read(StockLine)]
    with reading.cursor() as cursor:
        cursor.execute(_line_to_reserve_sql(), [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    widths = [len(model._meta.concrete_fields) for model in (StockLine, Shop)]
    line = _instance(StockLine, row[: widths[0]], reading)
    shop = _instance(Shop, row[widths[0] : widths[0] + widths[1]], reading)
    book = _instance(Book, row[widths[0] + widths[1] :], reading)
    StockLine.shop.field.set_cached_value(line, shop)
    StockLine.book.field.set_cached_value(line, book)
    return line
