from django.urls import re_path

from . import views

app_name = "api"
# A trailing slash is tolerated: point-of-sale software is not always strict about it.
urlpatterns = [
    re_path(r"^shops/(?P<slug>[-a-zA-Z0-9_]+)/stock/?$", views.shop_stock, name="shop-stock"),
    re_path(
        r"^shops/(?P<slug>[-a-zA-Z0-9_]+)/imports/(?P<import_id>[0-9]{1,18})/?$", views.shop_import, name="shop-import"
    ),
    re_path(r"^openapi\.json$", views.openapi, name="openapi"),
    re_path(r"", views.unknown_endpoint),
]
