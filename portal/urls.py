from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from reservations.admin import admin_index

from .accounts import ADMIN_TITLES, StaffPasswordResetConfirmView, StaffPasswordResetView

admin.site.site_header = _("Librairies en réseau — administration")
admin.site.site_title = _("Librairies en réseau")
admin.site.index_title = _("Gestion du réseau")

urlpatterns = [
    # Before admin.site.urls; the name "admin_password_reset" puts the link on the admin's login page.
    path("admin/password_reset/", StaffPasswordResetView.as_view(), name="admin_password_reset"),
    path(
        "admin/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(extra_context=ADMIN_TITLES),
        name="password_reset_done",
    ),
    path("admin/reset/<uidb64>/<token>/", StaffPasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "admin/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(extra_context=ADMIN_TITLES),
        name="password_reset_complete",
    ),
    path("admin/figures/", include("figures.urls")),
    path("admin/", admin_index),  # the bookseller's counter, or the admin's index
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("catalogue.stock.api.urls")),
    path("shops/", include("bookshops.urls")),
    path("reservations/", include("reservations.urls")),
    path("orders/", include("orders.urls")),
    path("passculture/", include("passculture.urls")),
    path(
        "accessibilite/",
        TemplateView.as_view(
            template_name="accessibility.html", extra_context={"contact_email": settings.PORTAL_CONTACT_EMAIL}
        ),
        name="accessibility",
    ),
    path("", include("catalogue.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
