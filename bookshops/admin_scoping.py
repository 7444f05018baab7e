"""Admin pages of rows that belong to a shop: staff see and touch only their own shops' rows."""

from django.contrib import admin

from .models import Shop


class ShopScopedAdmin(admin.ModelAdmin):
    """Rows scoped by ``Shop.objects.for_user``: the association sees all, staff their own shops'."""

    shop_field = "shop"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.shop_field}__in": Shop.objects.for_user(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.shop_field:
            kwargs["queryset"] = Shop.objects.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
