"""Admin for background work kept in outbox rows (``portal.tasks.Outbox``)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .tasks import enqueue_on_commit


class OutboxAdmin(admin.ModelAdmin):
    """The association's view of background work, failed first; read only, retried on demand."""

    #: The task that does a list of rows.
    task = None
    actions = ["retry_now"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Réessayer maintenant"), permissions=["view"])
    def retry_now(self, request, queryset):
        ids = list(queryset.filter(**{f"{self.model.DONE_FIELD}__isnull": True}).values_list("pk", flat=True))
        self.model.objects.filter(pk__in=ids).update(gave_up_at=None, locked_until=None)
        enqueue_on_commit(self.task, ids)
        self.message_user(
            request,
            ngettext("%(count)s envoyé au worker.", "%(count)s envoyés au worker.", len(ids)) % {"count": len(ids)},
            messages.SUCCESS,
        )
