from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from bookshops.admin_scoping import ShopScopedAdmin
from bookshops.models import Shop
from catalogue.models import StockLine
from portal.admin import OutboxAdmin

from . import services
from .admin_actions import CounterAction, WorkflowActionsMixin
from .colleague import colleague_book_lookup, colleague_holdings
from .emails import emails_send
from .exceptions import REFUSALS
from .forms import ColleagueSearchForm, MoveToShopForm, OnBehalfReservationForm, ReasonForm
from .models import OutgoingEmail, Reservation, ReservationEvent, ReservationPause
from .pauses import pauses_changed
from .selectors import SECTIONS, counter_day, counter_panels

#: The counter's one-click actions.
COUNTER_ACTIONS = {
    "confirm": CounterAction(services.reservation_confirm, _("« %(title)s » mis de côté pour %(name)s.")),
    "collect": CounterAction(services.reservation_collect, _("« %(title)s » remis à %(name)s."), tells_reader=False),
    "cancel": CounterAction(
        services.reservation_cancel,
        _("Réservation de %(name)s annulée, les exemplaires sont de nouveau disponibles."),
        form_class=ReasonForm,
        missing=_("Indiquez le motif de l'annulation : le lecteur le recevra."),
    ),
}


def counter_is_home(user) -> bool:
    """Shop staff land on the counter; the association's admins on the usual index."""
    return (
        user.is_active
        and user.is_staff
        and not user.is_superuser
        and user.has_perm("reservations.view_reservation")
        and Shop.objects.for_user(user).exists()
    )


def admin_index(request):
    """The admin's home: the counter of the day for a bookseller (``?apps=1`` shows every section)."""
    if request.user.is_authenticated and "apps" not in request.GET and counter_is_home(request.user):
        return redirect("admin:reservations_counter")
    return admin.site.admin_view(admin.site.index)(request)


class ReservationEventInline(admin.TabularInline):
    model = ReservationEvent
    fields = ["created_at", "step", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("étape"))
    def step(self, obj):
        return obj.description()

    def has_view_permission(self, request, obj=None):
        # The history goes with the reservation: whoever may see one sees the other.
        return request.user.has_perm("reservations.view_reservation")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reservation)
class ReservationAdmin(WorkflowActionsMixin, ShopScopedAdmin):
    service_argument = "reservation"
    counter_actions = COUNTER_ACTIONS
    list_display = ["reference", "book_cell", "quantity", "reader_cell", "deadline", "status", "shop"]
    list_filter = ["status", "created_at", ("shop", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"
    search_fields = ["=reference", "reader_name", "reader_email", "=book__isbn", "book__title"]
    list_select_related = ["shop", "book"]
    inlines = [ReservationEventInline]
    actions = ["confirm", "collect", "cancel_with_reason", "send_to_colleague"]
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
        "confirm_by",
        "reminder_sent_at",
        "confirmed_at",
        "pickup_deadline",
        "closed_at",
        "cancel_reason",
        "redirected_to",
        "referred_by_shop",
        "anonymised_at",
    ]
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_display(self, request):
        if not request.user.is_superuser and Shop.objects.for_user(request.user).count() < 2:
            return [name for name in self.list_display if name != "shop"]
        return self.list_display

    @admin.display(description=_("livre"), ordering="book__title")
    def book_cell(self, obj):
        authors = ", ".join(c.name for c in obj.book.authors)
        return format_html(
            '<strong>{}</strong>{}<br><span class="isbn">{}</span>',
            obj.book.title,
            f" — {authors}" if authors else "",
            obj.book.isbn_display,
        )

    @admin.display(description=_("lecteur"), ordering="reader_name")
    def reader_cell(self, obj):
        if obj.reader_phone:
            return format_html('{}<br><a href="tel:{}">{}</a>', obj.reader_name, obj.reader_phone, obj.reader_phone)
        return obj.reader_name

    @admin.display(description=_("échéance"))
    def deadline(self, obj):
        if obj.status == Reservation.Status.REQUESTED and obj.confirm_by:
            return format_html("{} {}", _("à mettre de côté avant le"), _local(obj.confirm_by))
        if obj.status == Reservation.Status.CONFIRMED and obj.pickup_deadline:
            return format_html("{} {}", _("à retirer avant le"), _local(obj.pickup_deadline))
        return "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("book__contributors")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        filters = request.GET.get("_changelist_filters", "")
        changelist = reverse("admin:reservations_reservation_changelist")
        change = reverse("admin:reservations_reservation_change", args=[object_id]) if object_id.isdigit() else ""
        extra = {
            # After an action the bookseller goes back to the list they came from, filter kept.
            "after_action": f"{changelist}?{filters}" if filters else change,
            "reason_form": ReasonForm(),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.action(description=_("Mettre de côté"), permissions=["change"])
    def confirm(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.reservation_confirm,
            ngettext_lazy(
                "%(count)d réservation confirmée : le lecteur est prévenu.",
                "%(count)d réservations confirmées : les lecteurs sont prévenus.",
                "count",
            ),
        )

    @admin.action(description=_("Remis au lecteur"), permissions=["change"])
    def collect(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.reservation_collect,
            ngettext_lazy(
                "%(count)d réservation remise au lecteur.", "%(count)d réservations remises aux lecteurs.", "count"
            ),
        )

    @admin.action(description=_("Annuler…"), permissions=["change"])
    def cancel_with_reason(self, request, queryset):
        return self._with_form(
            request,
            queryset,
            ReasonForm,
            services.reservation_cancel,
            ngettext_lazy(
                "%(count)d réservation annulée : le lecteur est prévenu.",
                "%(count)d réservations annulées : les lecteurs sont prévenus.",
                "count",
            ),
            title=_("Annuler des réservations"),
            intro=_("Le lecteur recevra ce motif par e-mail et les exemplaires redeviendront disponibles."),
            submit=_("Annuler ces réservations"),
        )

    # --- Sending a customer to a colleague -------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("colleague/", wrap(self.colleague_view), name="reservations_colleague"),
            path(
                "colleague/reserve/<int:line_id>/",
                wrap(self.colleague_reserve_view),
                name="reservations_colleague_reserve",
            ),
            path("colleague/slip/<int:line_id>/", wrap(self.colleague_slip_view), name="reservations_colleague_slip"),
            path("<int:pk>/colleague/", wrap(self.move_view), name="reservations_reservation_move"),
            path("counter/", wrap(self.counter_view), name="reservations_counter"),
            path("counter/<int:pk>/<slug:action>/", wrap(self.counter_action_view), name="reservations_counter_action"),
            path(
                "by-reference/<str:reference>/",
                wrap(self.by_reference_view),
                name="reservations_reservation_by_reference",
            ),
            *super().get_urls(),
        ]

    # --- The counter of the day ---------------------------------------------------

    def counter_view(self, request):
        """The bookseller's day: what to set aside, what is overdue, what waits, what left today."""
        shops = self._bookseller_shops(request)
        day = counter_day(reservations=self.get_queryset(request))
        panels = [
            panel
            for _receiver, panel in counter_panels.send(sender=type(self), request=request, shops=shops, now=day.now)
            if panel is not None
        ]
        keys = {*SECTIONS, *(panel.key for panel in panels)}
        only = request.GET.get("section") if request.GET.get("section") in keys else None
        context = self._context(
            request,
            _("Au comptoir aujourd'hui"),
            day=day,
            panels=panels,
            only=only,
            shops=shops,
            many_shops=shops.count() > 1,
            can_change=self.has_change_permission(request),
            reason_form=ReasonForm(),
            sections=SECTIONS,
        )
        return TemplateResponse(request, "admin/reservations/counter.html", context)

    def by_reference_view(self, request, reference):
        """The link in a shop's e-mail: the reservation's page, found by its reference."""
        reservation = get_object_or_404(self.get_queryset(request), reference=reference.upper())
        return redirect("admin:reservations_reservation_change", reservation.pk)

    def _bookseller_shops(self, request, *, change=False):
        """The active shops the user acts for; refused to staff of no shop or without the permission."""
        allowed = self.has_change_permission(request) if change else self.has_view_permission(request)
        shops = Shop.objects.for_user(request.user).active().order_by("name")
        if not allowed or not shops.exists():
            raise PermissionDenied
        return shops

    def _context(self, request, title, **extra):
        # The counter's pages use the whole width of a till's tablet: no side menu.
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "is_nav_sidebar_enabled": False,
            **extra,
        }

    def colleague_view(self, request):
        """Find which member shops hold a book, nearest to the bookseller's shop first."""
        shops = self._bookseller_shops(request)
        data = request.GET.copy()
        if "q" in data and not data.get("shop"):
            data["shop"] = shops.first().pk
        form = ColleagueSearchForm(data if "q" in data else None, shops=shops)
        lookup = holdings = None
        if form.is_bound and form.is_valid():
            lookup = colleague_book_lookup(query=form.cleaned_data["q"])
            if lookup.book is not None:
                holdings = colleague_holdings(book=lookup.book, origin=form.cleaned_data["shop"])
        context = self._context(
            request,
            _("Trouver chez un confrère"),
            form=form,
            lookup=lookup,
            holdings=holdings,
            max_copies=settings.RESERVATIONS_MAX_COPIES,
        )
        return TemplateResponse(request, "admin/reservations/colleague_lookup.html", context)

    def colleague_reserve_view(self, request, line_id):
        """Reserve a copy at a colleague's shop for a customer at the counter."""
        shops = self._bookseller_shops(request, change=True)
        origin = get_object_or_404(
            shops, pk=request.POST.get("origin") or request.GET.get("origin") or shops.first().pk
        )
        line = get_object_or_404(
            StockLine.objects.select_related("shop", "book"),
            pk=line_id,
            shop__in=Shop.objects.taking_reservations(),
        )
        back = reverse("admin:reservations_colleague") + "?" + urlencode({"q": line.book.isbn, "shop": origin.pk})
        if line.shop_id == origin.pk:
            self.message_user(
                request, _("Ce livre est chez vous : réservez-le dans votre propre stock."), messages.ERROR
            )
            return redirect(back)
        form = OnBehalfReservationForm(request.POST or None, available=line.available)
        # A replayed form (double click) finds the reservation it made, even though its copies are now held.
        token = request.POST.get("form_token")
        reservation = (
            Reservation.objects.replay_of(
                form_token=token,
                stock_line=line,
                email=services.normalize_email(request.POST.get("reader_email", "")),
                phone=services.normalize_phone(request.POST.get("reader_phone", "")),
            )
            if token
            else None
        )
        if reservation is None and request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                reservation = services.reservation_create(
                    stock_line=line,
                    quantity=data["quantity"],
                    reader_name=data["reader_name"],
                    reader_email=data["reader_email"],
                    reader_phone=data["reader_phone"],
                    form_token=data["form_token"],
                    referred_by_shop=origin,
                    user=request.user,
                )
            except REFUSALS as error:
                form.add_error(None, error.message)
        if reservation is not None:
            done = (
                _(
                    "Réservation %(reference)s faite chez %(shop)s pour %(name)s : la librairie est prévenue et "
                    "le client a reçu un e-mail."
                )
                if reservation.reader_email
                else _(
                    "Réservation %(reference)s faite chez %(shop)s pour %(name)s : la librairie est prévenue et "
                    "appellera le client (pas d'e-mail)."
                )
            )
            self.message_user(
                request,
                done
                % {
                    "reference": reservation.reference,
                    "shop": line.shop.name,
                    "name": reservation.reader_name,
                },
                messages.SUCCESS,
            )
            return redirect(back)
        context = self._context(
            request,
            _("Réserver pour le client chez %(shop)s") % {"shop": line.shop.name},
            form=form,
            line=line,
            origin=origin,
            back=back,
        )
        return TemplateResponse(
            request, "admin/reservations/colleague_reserve.html", context, status=400 if form.is_bound else 200
        )

    def colleague_slip_view(self, request, line_id):
        """A one-page slip for the customer: the book, and where to ask for it (address, hours, phone)."""
        self._bookseller_shops(request)
        line = get_object_or_404(
            StockLine.objects.select_related("shop", "book").prefetch_related(
                "shop__opening_hours", "book__contributors"
            ),
            pk=line_id,
            shop__in=Shop.objects.active(),
        )
        context = self._context(
            request,
            _("Fiche pour le client : %(title)s chez %(shop)s") % {"title": line.book.title, "shop": line.shop.name},
            line=line,
            book=line.book,
            shop=line.shop,
            hours=line.shop.weekly_hours(),
            printed_at=timezone.now(),
        )
        return TemplateResponse(request, "admin/reservations/colleague_slip.html", context)

    def move_view(self, request, pk):
        """Send a reservation this shop cannot serve to a colleague's shop that holds the book."""
        reservation = get_object_or_404(self.get_queryset(request).select_related("shop", "book"), pk=pk)
        if not self.has_change_permission(request, reservation):
            raise PermissionDenied
        change_url = reverse("admin:reservations_reservation_change", args=[reservation.pk])
        if not reservation.is_active:
            self.message_user(
                request,
                _("La réservation %(reference)s est « %(status)s » : elle ne peut plus être transférée.")
                % {"reference": reservation.reference, "status": reservation.get_status_display()},
                messages.WARNING,
            )
            return redirect(change_url)
        form = MoveToShopForm(request.POST or None, shops=Shop.objects.active().exclude(pk=reservation.shop_id))
        if request.method == "POST" and form.is_valid():
            try:
                new = services.reservation_move_to_shop(
                    reservation=reservation,
                    shop=form.cleaned_data["shop"],
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except REFUSALS as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _(
                        "Réservation transférée chez %(shop)s sous la référence %(reference)s : le lecteur est prévenu "
                        "par e-mail."
                    )
                    % {"shop": new.shop.name, "reference": new.reference},
                    messages.SUCCESS,
                )
                return redirect(change_url)
        holdings = colleague_holdings(book=reservation.book, origin=reservation.shop)
        context = self._context(
            request,
            _("Envoyer la réservation %(reference)s chez un confrère") % {"reference": reservation.reference},
            reservation=reservation,
            holdings=holdings,
            form=form,
            change_url=change_url,
        )
        return TemplateResponse(
            request, "admin/reservations/move_to_shop.html", context, status=400 if form.is_bound else 200
        )

    @admin.action(description=_("Envoyer chez un confrère"), permissions=["change"])
    def send_to_colleague(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Choisissez une seule réservation à envoyer chez un confrère."), messages.ERROR
            )
            return None
        return redirect("admin:reservations_reservation_move", pk=queryset.get().pk)


def _local(moment):
    return date_format(timezone.localtime(moment), "l j F, H:i")


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(OutboxAdmin):
    """The association's view of e-mails, failed ones first to retry or fix."""

    task = emails_send
    list_display = ["created_at", "kind", "to", "subject", "sent_at", "attempts", "failed_at", "gave_up_at"]
    list_filter = [
        "kind",
        ("sent_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
        ("gave_up_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["to", "subject", "reservation__reference"]


@admin.register(ReservationPause)
class ReservationPauseAdmin(ShopScopedAdmin):
    """The pause switch: the association pauses the network, a bookseller their own shop.

    Whoever may handle a shop's reservations may pause them; a network pause (no shop) is the
    association's alone. A pause that has begun is history (the figures list it): it is ended by
    setting its end, never deleted, and its place and start no longer change.
    """

    list_display = ["message", "shop", "starts_at", "ends_at", "created_by", "created_at"]
    list_filter = [("shop", admin.EmptyFieldListFilter), "starts_at"]
    fields = ["shop", "starts_at", "ends_at", "message"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shop", "created_by")

    def _may_pause(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if not request.user.has_perm("reservations.change_reservation"):
            return False
        if obj is not None:
            return obj.shop_id is not None and Shop.objects.for_user(request.user).filter(pk=obj.shop_id).exists()
        return Shop.objects.for_user(request.user).exists()

    def has_module_permission(self, request):
        return self._may_pause(request)

    def has_view_permission(self, request, obj=None):
        return self._may_pause(request, obj)

    def has_add_permission(self, request):
        return self._may_pause(request)

    def has_change_permission(self, request, obj=None):
        return self._may_pause(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.starts_at <= timezone.now():
            return False
        return self._may_pause(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one pause at a time, and only one not begun yet
        return actions

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.starts_at <= timezone.now():
            return ["shop", "starts_at"]
        return []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "shop" and not request.user.is_superuser:
            kwargs["required"] = True  # staff pause their own shops, never the network
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        pauses_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        pauses_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        pauses_changed()
