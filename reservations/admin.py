from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalogue.admin import ShopScopedAdmin

from . import services
from .exceptions import ReservationError
from .forms import ReasonForm
from .models import OutgoingEmail, Reservation, ReservationEvent


class ReservationEventInline(admin.TabularInline):
    model = ReservationEvent
    fields = ["created_at", "from_status", "to_status", "actor", "user", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reservation)
class ReservationAdmin(ShopScopedAdmin):
    list_display = ["reference", "created_at", "status", "shop", "book", "quantity", "reader_name",
                    "confirm_by", "pickup_deadline"]
    list_filter = ["status", "created_at", ("shop", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["=reference", "reader_name", "reader_email", "=book__isbn", "book__title"]
    list_select_related = ["shop", "book"]
    inlines = [ReservationEventInline]
    actions = ["confirm", "collect", "cancel_with_reason"]
    fields = [
        "reference", "status", "shop", "book", "quantity", "reader_name", "reader_email", "reader_phone", "note",
        "language", "created_at", "confirm_by", "reminder_sent_at", "confirmed_at", "pickup_deadline", "closed_at",
        "cancel_reason", "redirected_to", "referred_by_shop", "anonymised_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _apply(self, request, queryset, service, done_message, **kwargs):
        done = 0
        for reservation in queryset.select_related("shop", "book").order_by("pk"):
            try:
                service(reservation=reservation, user=request.user, **kwargs)
            except ReservationError as error:
                self.message_user(request, f"{reservation.reference} : {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Confirmer (mis de côté)"), permissions=["change"])
    def confirm(self, request, queryset):
        self._apply(request, queryset, services.reservation_confirm, lambda n: ngettext(
            "%(count)d réservation confirmée : le lecteur est prévenu.",
            "%(count)d réservations confirmées : les lecteurs sont prévenus.", n) % {"count": n})

    @admin.action(description=_("Retirée"), permissions=["change"])
    def collect(self, request, queryset):
        self._apply(request, queryset, services.reservation_collect, lambda n: ngettext(
            "%(count)d réservation retirée.", "%(count)d réservations retirées.", n) % {"count": n})

    @admin.action(description=_("Annuler (motif)"), permissions=["change"])
    def cancel_with_reason(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, services.reservation_cancel, lambda n: ngettext(
                "%(count)d réservation annulée : le lecteur est prévenu.",
                "%(count)d réservations annulées : les lecteurs sont prévenus.", n) % {"count": n},
                reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Annuler des réservations"),
            "opts": self.model._meta,
            "form": form,
            "reservations": queryset.select_related("shop", "book"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "reservations/admin/cancel_reason.html", context)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """The association's view of e-mails, failed ones first to retry or fix."""

    list_display = ["created_at", "kind", "to", "subject", "sent_at", "attempts", "failed_at", "gave_up_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "reservation__reference"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
