from django.shortcuts import get_object_or_404, render

from .models import Shop


def shop_list(request):
    shops = Shop.objects.active()
    return render(request, "bookshops/shop_list.html", {"shops": shops})


def shop_detail(request, slug):
    shop = get_object_or_404(Shop.objects.active().prefetch_related("opening_hours", "closures"), slug=slug)
    return render(request, "bookshops/shop_detail.html", {"shop": shop})
