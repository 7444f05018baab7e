from django import forms
from django.contrib import admin
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from bookshops.admin_scoping import ShopScopedAdmin
from reservations.admin_actions import CounterAction, WorkflowActionsMixin
from reservations.forms import ReasonForm

from . import services
from .models import Alert, Order, OrderEmail, OrderEvent


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "user", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AcceptForm(forms.Form):
    expected_on = forms.DateField(label=_("Arrivée prévue le"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_expected_on(self):
        expected_on = self.cleaned_data["expected_on"]
        if expected_on < timezone.localdate():
            raise forms.ValidationError(_("La date d'arrivée prévue ne peut pas être passée."))
        return expected_on


def decline_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        label=_("Motif (envoyé au lecteur)"),
        help_text=_("Par exemple : indisponible chez le distributeur."),
    )


#: The counter's one-click actions on orders.
COUNTER_ACTIONS = {
    "accept": CounterAction(
        services.order_accept,
        _("« %(title)s » commandé au distributeur pour %(name)s."),
        form_class=AcceptForm,
        missing=_("Indiquez une date d'arrivée prévue, aujourd'hui ou plus tard : le lecteur la recevra."),
    ),
    "arrive": CounterAction(services.order_arrive, _("« %(title)s » arrivé et mis de côté pour %(name)s.")),
    "collect": CounterAction(services.order_collect, _("« %(title)s » remis à %(name)s."), tells_reader=False),
    "decline": CounterAction(
        services.order_decline,
        _("Commande de %(name)s refusée."),
        form_class=decline_form,
        missing=_("Indiquez au lecteur pourquoi la commande ne peut pas être honorée."),
    ),
}


@admin.register(Order)
class OrderAdmin(WorkflowActionsMixin, ShopScopedAdmin):
    service_argument = "order"
    counter_actions = COUNTER_ACTIONS
    list_display = [
        "reference",
        "created_at",
        "status",
        "shop",
        "book",
        "quantity",
        "reader_name",
        "reader_phone",
        "expected_on",
        "pickup_deadline",
    ]
    list_filter = ["status", "created_at", ("shop", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["=reference", "reader_name", "reader_email", "=book__isbn", "book__title"]
    list_select_related = ["shop", "book"]
    inlines = [OrderEventInline]
    actions = ["accept", "arrive", "collect", "decline"]
    fields = [
        "reference",
        "status",
        "shop",
        "book",
        "quantity",
        "reader_name",
        "reader_email",
        "reader_phone",
        "note",
        "language",
        "created_at",
        "email_confirmed_at",
        "accepted_at",
        "expected_on",
        "arrived_at",
        "pickup_deadline",
        "closed_at",
        "reason",
        "stock_notice_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request):
        # A shop sees an order once the reader has confirmed their address; the association sees all.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.seen_by_shop()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "counter/<int:pk>/<slug:action>/",
                self.admin_site.admin_view(self.counter_action_view),
                name="orders_order_counter_action",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Commandée au distributeur (date prévue)…"), permissions=["change"])
    def accept(self, request, queryset):
        return self._with_form(
            request,
            queryset,
            AcceptForm,
            services.order_accept,
            ngettext_lazy(
                "%(count)d commande passée au distributeur : le lecteur est prévenu.",
                "%(count)d commandes passées au distributeur : les lecteurs sont prévenus.",
                "count",
            ),
            title=_("Commandes passées au distributeur"),
            intro=_("Le lecteur recevra un e-mail à chaque étape."),
            submit=_("Valider"),
        )

    @admin.action(description=_("Arrivée (mise de côté)"), permissions=["change"])
    def arrive(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.order_arrive,
            ngettext_lazy(
                "%(count)d commande arrivée : le lecteur est prévenu.",
                "%(count)d commandes arrivées : les lecteurs sont prévenus.",
                "count",
            ),
        )

    @admin.action(description=_("Remise au lecteur"), permissions=["change"])
    def collect(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.order_collect,
            ngettext_lazy("%(count)d commande remise.", "%(count)d commandes remises.", "count"),
        )

    @admin.action(description=_("Refuser (motif)…"), permissions=["change"])
    def decline(self, request, queryset):
        return self._with_form(
            request,
            queryset,
            decline_form,
            services.order_decline,
            ngettext_lazy(
                "%(count)d commande refusée : le lecteur est prévenu.",
                "%(count)d commandes refusées : les lecteurs sont prévenus.",
                "count",
            ),
            title=_("Refuser des commandes"),
            intro=_("Le lecteur recevra ce motif par e-mail."),
            submit=_("Refuser ces commandes"),
        )


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """The association's view of the alerts (no shop owns an alert)."""

    list_display = ["book", "created_at", "place", "radius_km", "shop", "confirmed_at", "fulfilled_at", "expires_at"]
    list_filter = ["confirmed_at", "fulfilled_at"]
    search_fields = ["=book__isbn", "book__title", "reader_email"]
    list_select_related = ["book", "shop"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    show_full_result_count = False

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OrderEmail)
class OrderEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "sent_at", "attempts", "gave_up_at"]
    list_filter = ["kind", "sent_at", "gave_up_at"]
    readonly_fields = [
        "created_at",
        "kind",
        "to",
        "language",
        "order",
        "alert",
        "subject",
        "body_text",
        "sent_at",
        "attempts",
        "last_error",
        "failed_at",
        "gave_up_at",
    ]
    exclude = ["context", "locked_until"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
