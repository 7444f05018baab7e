from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_scoping import ShopScopedAdmin
from .exceptions import GeocodingFailed
from .models import ApiToken, Closure, CoordinatesSource, OpeningHours, Shop, StaffPick
from .services import shop_geocode
from .signals import shop_membership_changed
from .tokens import api_token_create, api_token_revoke


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class StaffPickInline(admin.StackedInline):
    """The shop's "coups de cœur", written from the shop's own page; the writer is recorded as author."""

    model = StaffPick
    extra = 0
    fields = ["book", "text", "signature", "is_published"]
    autocomplete_fields = ["book"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class AuthoredFormSet(formset):
            def save_new(self, form, commit=True):
                form.instance.author = request.user
                return super().save_new(form, commit=commit)

        return AuthoredFormSet


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    #: A shop or publisher address typed without a scheme is https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "town", "department", "is_active", "stock_reported_at", "has_coordinates"]
    list_filter = ["department", "is_active", "offers_click_and_collect"]
    search_fields = ["name", "town", "postcode", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["staff"]
    inlines = [OpeningHoursInline, ClosureInline, StaffPickInline]
    readonly_fields = ["stock_reported_at", "created_at", "coordinates_source"]
    actions = ["geocode_selected"]

    @admin.display(boolean=True, description=_("coordonnées"))
    def has_coordinates(self, shop):
        return shop.has_coordinates

    @admin.action(description=_("Géocoder l'adresse des librairies sélectionnées"))
    def geocode_selected(self, request, queryset):
        done, failed = 0, []
        for shop in queryset:
            try:
                shop_geocode(shop=shop)
                done += 1
            except GeocodingFailed as exc:
                failed.append(f"{shop.name} ({exc.reason})")
        if done:
            self.message_user(
                request, ngettext("%d librairie géocodée.", "%d librairies géocodées.", done) % done, messages.SUCCESS
            )
        if failed:
            self.message_user(request, _("Adresse introuvable : %s") % "; ".join(failed), messages.WARNING)

    def get_prepopulated_fields(self, request, obj=None):
        # The slug is read-only for a shop's staff: prepopulating it would break their change form.
        return super().get_prepopulated_fields(request, obj) if request.user.is_superuser else {}

    def save_model(self, request, obj, form, change):
        """Coordinates typed by hand are kept; a shop without any is geocoded from its address."""
        if {"latitude", "longitude"} & set(form.changed_data) and obj.has_coordinates:
            obj.coordinates_source = CoordinatesSource.MANUAL
        elif not obj.has_coordinates:
            try:
                shop_geocode(shop=obj, save=False)
            except GeocodingFailed as exc:
                self.message_user(
                    request,
                    _("Adresse non géocodée (%s) : saisissez la latitude et la longitude.") % exc.reason,
                    messages.WARNING,
                )
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            shop_membership_changed.send(sender=Shop, shop_id=obj.pk)

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["slug", "is_active", "staff", "siret", "passculture_venue_id"]
        return fields

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


# --- Shops' picks ("coups de cœur") ---------------------------------------------


@admin.register(StaffPick)
class StaffPickAdmin(ShopScopedAdmin):
    """A bookseller's recommendation of a book, for one of their own shops."""

    list_display = ["book", "shop", "signature", "is_published", "created_at"]
    list_filter = ["is_published", ("shop", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["=book__isbn", "book__title", "shop__name", "text", "signature"]
    list_select_related = ["book", "shop"]
    autocomplete_fields = ["book"]
    fields = ["shop", "book", "text", "signature", "is_published", "author", "created_at"]
    readonly_fields = ["author", "created_at"]
    date_hierarchy = "created_at"
    actions = ["publish", "unpublish"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        shops = list(Shop.objects.for_user(request.user).values_list("pk", flat=True)[:2])
        if len(shops) == 1:
            initial.setdefault("shop", shops[0])
        initial.setdefault("signature", request.user.get_full_name())
        return initial

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publier les coups de cœur sélectionnés"), permissions=["change"])
    def publish(self, request, queryset):
        count = queryset.filter(is_published=False).update(is_published=True)
        message = ngettext("%(count)s coup de cœur publié.", "%(count)s coups de cœur publiés.", count)
        message %= {"count": count}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Retirer de la publication"), permissions=["change"])
    def unpublish(self, request, queryset):
        count = queryset.filter(is_published=True).update(is_published=False)
        message = ngettext("%(count)s coup de cœur retiré.", "%(count)s coups de cœur retirés.", count)
        message %= {"count": count}
        self.message_user(request, message, messages.SUCCESS)


# --- API tokens ----------------------------------------------------------------
@admin.register(ApiToken)
class ApiTokenAdmin(ShopScopedAdmin):
    list_display = ["name", "shop", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "shop"]
    search_fields = ["name", "prefix", "shop__name"]
    list_select_related = ["shop"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["shop", "name"]
        return ["shop", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["shop", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(shop=obj.shop, name=obj.name, user=request.user)
        # The admin goes on with ``obj`` (history, redirect): make it the token just issued.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False
        self.message_user(
            request,
            _(
                "Jeton de %(shop)s : %(token)s — copiez-le maintenant dans le logiciel de caisse, "
                "il ne sera plus jamais affiché."
            )
            % {"shop": token.shop.name, "token": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Révoquer"), permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
            count += 1
        message = ngettext("%(count)s jeton révoqué.", "%(count)s jetons révoqués.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)
