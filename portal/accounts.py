"""Booksellers' accounts: resetting a forgotten password by e-mail (staff only, limited, unlocks the login)."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from .clients import client_ip
from .ratelimit import ratelimit_take

RESET_WINDOW_SECONDS = 3600
#: The admin's titles on these pages, which the admin site does not render itself.
ADMIN_TITLES = {"site_header": _("Librairies en réseau — administration"), "site_title": _("Librairies en réseau")}


class StaffPasswordResetForm(PasswordResetForm):
    """Only staff accounts get a link; the page says the same whether the address is known or not."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.is_staff)


class StaffPasswordResetView(auth_views.PasswordResetView):
    form_class = StaffPasswordResetForm
    success_url = reverse_lazy("password_reset_done")
    extra_context = ADMIN_TITLES

    def form_valid(self, form):
        if not ratelimit_take(
            key=f"password-reset:{client_ip(self.request)}",
            limit=settings.PASSWORD_RESET_RATE_LIMIT,
            window=RESET_WINDOW_SECONDS,
        ):
            form.add_error(
                "email",
                _(
                    "Trop de demandes de réinitialisation depuis cette connexion : réessayez dans une "
                    "heure, ou demandez à l'association."
                ),
            )
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


class StaffPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")
    extra_context = ADMIN_TITLES

    def form_valid(self, form):
        response = super().form_valid(form)
        # A new password is the owner's own way out of a lockout.
        axes_reset(username=form.user.get_username())
        return response
