"""Admin actions that run one workflow's service on each selected row (reservations, orders)."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse

from .exceptions import REFUSALS


class WorkflowActionsMixin:
    """Run a service on each selected row, one message per refusal and one for what was done.

    ``service_argument`` is the keyword the services take the row by (``reservation``, ``order``);
    ``done_message`` is an ``ngettext_lazy(…, "count")``.
    """

    service_argument = ""

    def _apply(self, request, queryset, service, done_message, **kwargs) -> int:
        done = 0
        for row in queryset.select_related("shop", "book").order_by("pk"):
            try:
                service(**{self.service_argument: row}, user=request.user, **kwargs)
            except REFUSALS as error:
                self.message_user(request, f"{row.reference} : {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)
        return done

    def _with_form(self, request, queryset, form_class, service, done_message, *, title, intro, submit):
        """Ask for what the service needs besides the row (a reason, a date) on a page of its own, then apply it.

        ``form_class(data)`` makes the form; its cleaned data are the service's keyword arguments.
        """
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._apply(request, queryset, service, done_message, **form.cleaned_data)
            return None
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "submit": submit,
            "opts": opts,
            "form": form,
            "rows": queryset.select_related("shop", "book"),
            "action": request.POST.get("action", ""),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        }
        return TemplateResponse(request, "admin/workflow_action_form.html", context)
