"""pass Culture in the admin: each shop sees its own exchanges and bookings, and validates countermarks."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from bookshops.admin_scoping import ShopScopedAdmin

from .models import Booking, SyncRun
from .services import CountermarkRefused, PassCultureNotConfigured, countermark_validate


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(_ReadOnly, ShopScopedAdmin):
    list_display = ["started_at", "shop", "kind", "status", "sent_count", "unpriced_count", "rejected_count"]
    list_filter = ["kind", "status", ("shop", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "started_at"
    fields = [
        "shop",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "message",
        "lines_seen",
        "sent_count",
        "unpriced_count",
        "rejected_count",
        "rejected_list",
        "requests_count",
        "errors",
    ]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("EAN refusés et pourquoi"))
    def rejected_list(self, run):
        return format_html_join("\n", "<div>{} : {}</div>", sorted(run.rejected.items())) or "—"


class CountermarkForm(forms.Form):
    token = forms.CharField(
        label=_("Contremarque"),
        max_length=20,
        help_text=_("Le code de 6 caractères que le jeune montre dans l'application pass Culture."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


@admin.register(Booking)
class BookingAdmin(_ReadOnly, ShopScopedAdmin):
    list_display = ["created_at", "shop", "book", "quantity", "state", "passculture_id"]
    list_filter = ["state", ("shop", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=passculture_id", "=book__isbn", "book__title"]
    fields = [
        "passculture_id",
        "shop",
        "book",
        "quantity",
        "state",
        "passculture_status",
        "offer_id",
        "price_cents",
        "booked_at",
        "created_at",
        "closed_at",
    ]
    readonly_fields = fields
    change_list_template = "admin/passculture/booking/change_list.html"

    def has_change_permission(self, request, obj=None):
        # A booking changes only through pass Culture and its countermark: its page is read-only.
        return obj is None and super().has_change_permission(request)

    def get_urls(self):
        view = self.admin_site.admin_view(self.countermark_view)
        return [path("countermark/", view, name="passculture_booking_countermark"), *super().get_urls()]

    def countermark_view(self, request):
        """Validate a countermark at pass Culture: the young reader collects the book."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = CountermarkForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                booking = countermark_validate(token=form.cleaned_data["token"], user=request.user)
            except (CountermarkRefused, PassCultureNotConfigured) as exc:
                form.add_error("token", str(exc))
            else:
                self.message_user(
                    request,
                    _("Contremarque validée : « %(book)s », %(quantity)s exemplaire(s) à remettre.")
                    % {"book": booking.book.title, "quantity": booking.quantity},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:passculture_booking_change", args=[booking.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Valider une contremarque pass Culture"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/passculture/booking/countermark.html", context)
