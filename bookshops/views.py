from django.conf import settings
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .geo import distance_km, shops_near
from .location import forget_location, get_location
from .models import Shop
from .selectors import attach_open_now


def osm_credit() -> str:
    """OpenStreetMap's credit line, in the reader's language."""
    return _('&copy; <a href="https://www.openstreetmap.org/copyright">les contributeurs d’OpenStreetMap</a>')


#: ``service=`` filter values → Shop fields.
SERVICE_FILTERS = {
    "click-and-collect": "offers_click_and_collect",
    "envoi": "offers_postal_delivery",
    "commande": "offers_remote_orders",
}


def _map_context(shops) -> dict:
    """What the progressive Leaflet map needs: the points, the tile server and its attribution."""
    points = [
        {"name": s.name, "town": s.town, "url": s.get_absolute_url(), "lat": s.latitude, "lon": s.longitude}
        for s in shops
        if s.has_coordinates
    ]
    return {
        "map_points": points,
        "map_tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION or osm_credit()},
    }


def shop_list(request):
    shops = Shop.objects.active()
    department = request.GET.get("departement", "").strip().upper()[:3]
    service = request.GET.get("service", "")
    if department:
        shops = shops.filter(department=department)
    if service in SERVICE_FILTERS:
        shops = shops.filter(**{SERVICE_FILTERS[service]: True})
    location = get_location(request)
    shops = shops_near(location.lat, location.lon, None, queryset=shops) if location else list(shops)
    attach_open_now(shops, shop_id_of=lambda shop: shop.pk, attr="is_open", opens_attr="opens_at")
    departments = (
        Shop.objects.active().exclude(department="").order_by().values_list("department", flat=True).distinct()
    )
    context = {
        "shops": shops,
        "location": location,
        "department": department,
        "departments": sorted(set(departments)),
        "service": service,
        **_map_context(shops),
    }
    return render(request, "bookshops/shop_list.html", context)


def shop_detail(request, slug):
    shop = get_object_or_404(Shop.objects.active().prefetch_related("opening_hours", "closures"), slug=slug)
    location = get_location(request)
    if location and shop.has_coordinates:
        shop.distance_km = distance_km(location.lat, location.lon, shop.latitude, shop.longitude)
    today = timezone.localdate()
    context = {
        "shop": shop,
        "is_open": shop.is_open_at(),
        "opens_at": shop.next_opening(),
        "hours": shop.weekly_hours(),
        "closures": [c for c in shop.closures.all() if c.end_date >= today],
        "location": location,
        **_map_context([shop]),
    }
    return render(request, "bookshops/shop_detail.html", context)


@require_POST
def location_forget(request):
    forget_location(request)
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = "/"
    return redirect(target)
