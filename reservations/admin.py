from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from bookshops.admin_scoping import ShopScopedAdmin
from bookshops.models import Shop
from catalogue.models import StockLine
from portal.admin import OutboxAdmin

from . import services
from .colleague import colleague_book_lookup, colleague_holdings
from .emails import emails_send
from .exceptions import REFUSALS
from .forms import ColleagueSearchForm, MoveToShopForm, OnBehalfReservationForm, ReasonForm
from .models import OutgoingEmail, Reservation, ReservationEvent, ReservationPause
from .pauses import pauses_changed


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
    actions = ["confirm", "collect", "cancel_with_reason", "send_to_colleague"]
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
            except REFUSALS as error:
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


    # --- Sending a customer to a colleague -------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("colleague/", wrap(self.colleague_view), name="reservations_colleague"),
            path("colleague/reserve/<int:line_id>/", wrap(self.colleague_reserve_view),
                 name="reservations_colleague_reserve"),
            path("<int:pk>/colleague/", wrap(self.move_view), name="reservations_reservation_move"),
            *super().get_urls(),
        ]

    def _bookseller_shops(self, request, *, change=False):
        """The active shops the user acts for; refused to staff of no shop or without the permission."""
        allowed = self.has_change_permission(request) if change else self.has_view_permission(request)
        shops = Shop.objects.for_user(request.user).active().order_by("name")
        if not allowed or not shops.exists():
            raise PermissionDenied
        return shops

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

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
            request, _("Trouver chez un confrère"), form=form, lookup=lookup, holdings=holdings,
            max_copies=settings.RESERVATIONS_MAX_COPIES,
        )
        return TemplateResponse(request, "admin/reservations/colleague_lookup.html", context)

    def colleague_reserve_view(self, request, line_id):
        """Reserve a copy at a colleague's shop for a customer at the counter."""
        shops = self._bookseller_shops(request, change=True)
        origin = get_object_or_404(shops, pk=request.POST.get("origin") or request.GET.get("origin") or shops.first().pk)
        line = get_object_or_404(
            StockLine.objects.select_related("shop", "book"), pk=line_id,
            shop__in=Shop.objects.taking_reservations(),
        )
        back = reverse("admin:reservations_colleague") + "?" + urlencode({"q": line.book.isbn, "shop": origin.pk})
        if line.shop_id == origin.pk:
            self.message_user(request, _("Ce livre est chez vous : réservez-le dans votre propre stock."), messages.ERROR)
            return redirect(back)
        form = OnBehalfReservationForm(request.POST or None, available=line.available)
        # A replayed form (double click) finds the reservation it made, even though its copies are now held.
        token = request.POST.get("form_token")
        reservation = Reservation.objects.filter(form_token=token, shop=line.shop, book=line.book).first() if token else None
        if reservation is None and request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                reservation = services.reservation_create(
                    stock_line=line, quantity=data["quantity"], reader_name=data["reader_name"],
                    reader_email=data["reader_email"], reader_phone=data["reader_phone"],
                    form_token=data["form_token"], referred_by_shop=origin, user=request.user,
                )
            except REFUSALS as error:
                form.add_error(None, error.message)
        if reservation is not None:
            self.message_user(request, _(
                "Réservation %(reference)s faite chez %(shop)s pour %(name)s : la librairie est prévenue et "
                "le client a reçu un e-mail."
            ) % {"reference": reservation.reference, "shop": line.shop.name, "name": reservation.reader_name},
                messages.SUCCESS)
            return redirect(back)
        context = self._context(
            request, _("Réserver pour le client chez %(shop)s") % {"shop": line.shop.name},
            form=form, line=line, origin=origin, back=back,
        )
        return TemplateResponse(
            request, "admin/reservations/colleague_reserve.html", context, status=400 if form.is_bound else 200
        )

    def move_view(self, request, pk):
        """Send a reservation this shop cannot serve to a colleague's shop that holds the book."""
        reservation = get_object_or_404(self.get_queryset(request).select_related("shop", "book"), pk=pk)
        if not self.has_change_permission(request, reservation):
            raise PermissionDenied
        change_url = reverse("admin:reservations_reservation_change", args=[reservation.pk])
        if not reservation.is_active:
            self.message_user(request, _("La réservation %(reference)s est « %(status)s » : elle ne peut plus être "
                                         "transférée.") % {"reference": reservation.reference,
                                                           "status": reservation.get_status_display()},
                              messages.WARNING)
            return redirect(change_url)
        form = MoveToShopForm(
            request.POST or None, shops=Shop.objects.active().exclude(pk=reservation.shop_id)
        )
        if request.method == "POST" and form.is_valid():
            try:
                new = services.reservation_move_to_shop(
                    reservation=reservation, shop=form.cleaned_data["shop"], user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except REFUSALS as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _(
                    "Réservation transférée chez %(shop)s sous la référence %(reference)s : le lecteur est prévenu "
                    "par e-mail."
                ) % {"shop": new.shop.name, "reference": new.reference}, messages.SUCCESS)
                return redirect(change_url)
        holdings = colleague_holdings(book=reservation.book, origin=reservation.shop)
        context = self._context(
            request, _("Envoyer la réservation %(reference)s chez un confrère") % {"reference": reservation.reference},
            reservation=reservation, holdings=holdings, form=form, change_url=change_url,
        )
        return TemplateResponse(
            request, "admin/reservations/move_to_shop.html", context, status=400 if form.is_bound else 200
        )

    @admin.action(description=_("Envoyer chez un confrère"), permissions=["change"])
    def send_to_colleague(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choisissez une seule réservation à envoyer chez un confrère."),
                              messages.ERROR)
            return None
        return redirect("admin:reservations_reservation_move", pk=queryset.get().pk)

@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(OutboxAdmin):
    """The association's view of e-mails, failed ones first to retry or fix."""

    task = emails_send
    list_display = ["created_at", "kind", "to", "subject", "sent_at", "attempts", "failed_at", "gave_up_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter),
                   ("gave_up_at", admin.EmptyFieldListFilter)]
    search_fields = ["to", "subject", "reservation__reference"]


@admin.register(ReservationPause)
class ReservationPauseAdmin(ShopScopedAdmin):
    """The pause switch: the association pauses the network, a bookseller their own shop.

    Whoever may handle a shop's reservations may pause them; a network pause (no shop) is the
    association's alone.
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
        return self._may_pause(request, obj)

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
