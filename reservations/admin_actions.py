"""Admin actions that run one workflow's service on each selected row (reservations, orders)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

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

    # --- One click from the counter -------------------------------------------------

    #: action -> CounterAction; the counter's forms post to ``<app>_<model>_counter_action``.
    counter_actions: dict = {}

    def counter_action_view(self, request, pk, action):
        """One click from the counter (or a row's page), through the row's service; back to ``next``."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        # Scoped like the changelist: another shop's row, or a forged id, is a 404.
        row = get_object_or_404(self.get_queryset(request).select_related("shop", "book"), pk=pk)
        if action not in self.counter_actions or not self.has_change_permission(request, row):
            raise PermissionDenied
        back = request.POST.get("next", "")
        if not (
            back.startswith("/")
            and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
        ):
            back = reverse("admin:reservations_counter")
        step = self.counter_actions[action]
        kwargs = {}
        if step.form_class is not None:
            form = step.form_class(request.POST)
            if not form.is_valid():
                self.message_user(request, step.missing, messages.ERROR)
                return redirect(back)
            kwargs = form.cleaned_data
        try:
            step.service(**{self.service_argument: row}, user=request.user, **kwargs)
        except REFUSALS as error:
            self.message_user(request, f"{row.reference} : {error.message}", messages.ERROR)
        else:
            message = [step.done % {"title": row.book.title, "name": row.reader_name}]
            if step.tells_reader and row.reader_email:
                message.append(_("Le lecteur est prévenu par e-mail."))
            elif step.tells_reader and row.reader_phone:
                message.append(_("Pas d'e-mail : appelez le lecteur au %(phone)s.") % {"phone": row.reader_phone})
            self.message_user(request, " ".join(str(m) for m in message), messages.SUCCESS)
        return redirect(back)


@dataclass(frozen=True)
class CounterAction:
    """One button of the counter: the service it calls and what it says once done."""

    service: Callable
    #: « … » with %(title)s and %(name)s.
    done: str
    #: The form of what the service needs besides the row (a reason, a date), and what to say when it is missing.
    form_class: type | None = None
    missing: str = ""
    #: The reader is e-mailed (or must be called) about this step.
    tells_reader: bool = True
