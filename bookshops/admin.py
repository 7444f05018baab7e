from django.contrib import admin

from .models import Closure, OpeningHours, Shop


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "town", "department", "is_active", "stock_reported_at"]
    list_filter = ["department", "is_active", "offers_click_and_collect"]
    search_fields = ["name", "town", "postcode", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["staff"]
    inlines = [OpeningHoursInline, ClosureInline]
    readonly_fields = ["stock_reported_at", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["slug", "is_active", "staff", "siret"]
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        # The slug is read-only for staff: prepopulating it crashed their change page.
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
