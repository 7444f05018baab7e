"""Reads across shops: their picks, and whether they are open now."""

import datetime
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from .geo import nearest_first
from .models import NEXT_OPENING_DAYS, Closure, OpeningHours, Shop, StaffPick, next_opening, open_at


def attach_open_now(
    items, moment=None, *, shop_id_of=lambda item: item.shop_id, attr="shop_is_open", opens_attr="shop_opens_at"
) -> None:
    """Set ``attr`` on each item (a stock line, or a shop with ``shop_id_of=lambda s: s.pk``): whether
    its shop is open at ``moment`` (now by default); and ``opens_attr``: when a closed shop opens next (or None).

    Two small queries, whatever the number of items: those shops' weekly hours and
    their closures of the next two weeks.
    """
    shop_ids = {shop_id_of(item) for item in items}
    if not shop_ids:
        return
    moment = timezone.localtime(moment or timezone.now())
    today = moment.date()
    hours, closures = defaultdict(list), defaultdict(list)
    for h in OpeningHours.objects.filter(shop_id__in=shop_ids):
        hours[h.shop_id].append(h)
    horizon = today + datetime.timedelta(days=NEXT_OPENING_DAYS)
    for c in Closure.objects.filter(shop_id__in=shop_ids, start_date__lte=horizon, end_date__gte=today):
        closures[c.shop_id].append(c)
    for item in items:
        shop_id = shop_id_of(item)
        is_open = open_at(hours[shop_id], closures[shop_id], moment)
        setattr(item, attr, is_open)
        setattr(item, opens_attr, None if is_open else next_opening(hours[shop_id], closures[shop_id], moment))


# --- Shops' picks ("coups de cœur") -----------------------------------------------


def visible_picks():
    """Picks a reader may see: published, of an active shop."""
    return StaffPick.objects.filter(is_published=True, shop__is_active=True)


def picks_for_shop(shop) -> list:
    """The visible picks of one shop, most recent first, with their books and authors."""
    return list(
        visible_picks()
        .filter(shop=shop)
        .select_related("book")
        .prefetch_related("book__contributors")
        .order_by("-created_at", "-pk")
    )


def picks_for_book(book) -> list:
    """The visible picks of one book, one per shop, most recent first, with their shops."""
    return list(visible_picks().filter(book=book).select_related("shop").order_by("-created_at", "-pk"))


def picks_for_home(location, limit: int) -> list:
    """At most ``limit`` visible picks, one per book: when ``location`` is known, the nearest shops
    first (one pick each, the most recent, then a second round…); otherwise the most recent first.

    Each pick carries ``distance_km`` (None without location or coordinates).

    A handful of queries, whatever the number of shops and picks: the nearest shops
    with picks, the picks' ids, the chosen picks with shop and book, their contributors.
    One pick per book may, in a network where every near shop picked the same books,
    leave the selection shorter than ``limit``.
    """
    picks = visible_picks()
    rows = picks.order_by("-created_at", "-pk").values_list("pk", "shop_id", "book_id")
    distances = {}
    if location is None:
        ordered = rows.iterator(chunk_size=max(limit * 4, 100))
    else:
        with_picks = Shop.objects.active().filter(picks__is_published=True).distinct()
        # Only the nearest shops can fill the selection: no need to measure the whole network.
        reach = max(limit * 2, 6)
        shops = nearest_first(with_picks, location.lat, location.lon, reach)
        if len(shops) < reach:  # every located shop is in: the unlocated ones come last
            unlocated = list(with_picks.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)))
            for shop in unlocated:
                shop.distance_km = None
            shops += unlocated
        rank = {shop.pk: position for position, shop in enumerate(shops)}
        distances = {shop.pk: shop.distance_km for shop in shops}
        # Round after round, each shop's next most recent pick, nearest shop first: the
        # nearest shops lead, and one prolific shop does not fill the whole selection.
        turn = defaultdict(int)
        keyed = []
        for row in rows.filter(shop_id__in=list(rank)):
            keyed.append(((turn[row[1]], rank[row[1]]), row))
            turn[row[1]] += 1
        ordered = [row for _key, row in sorted(keyed, key=lambda item: item[0])]
    chosen, books = [], set()
    for pk, _shop_id, book_id in ordered:
        if len(chosen) >= limit:
            break
        if book_id not in books:
            books.add(book_id)
            chosen.append(pk)
    by_pk = picks.select_related("shop", "book").prefetch_related("book__contributors").in_bulk(chosen)
    result = [by_pk[pk] for pk in chosen if pk in by_pk]
    for pick in result:
        pick.distance_km = distances.get(pick.shop_id)
    return result
