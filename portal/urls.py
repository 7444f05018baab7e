from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from reservations.admin import admin_index

admin.site.site_header = _("Librairies en réseau — administration")
admin.site.site_title = _("Librairies en réseau")
admin.site.index_title = _("Gestion du réseau")

urlpatterns = [
    path("admin/figures/", include("figures.urls")),
    path("admin/", admin_index),  # the bookseller's counter, or the admin's index
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("catalogue.stock.api.urls")),
    path("shops/", include("bookshops.urls")),
    path("reservations/", include("reservations.urls")),
    path("orders/", include("orders.urls")),
    path("", include("catalogue.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
