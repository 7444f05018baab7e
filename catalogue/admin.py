import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bookshops.admin_scoping import ShopScopedAdmin
from portal.admin import OutboxAdmin

from .exceptions import StockImportRefused
from .forms import ArrivalsFormSet, ArrivalsShopForm, StockUploadForm
from .models import Book, Contributor, IndexRefresh, SearchMiss, StockImport, StockLine, Subject
from .signals import books_released_send
from .stock.snapshots import stock_import, stock_import_create, stock_import_retry, stock_imports_fail_stale
from .stock.tasks import stock_import_start

#: Problem kinds of a stock file's report, as the bookseller reads them.
PROBLEM_KINDS = {"isbn": _("ISBN"), "quantity": _("quantité"), "price": _("prix"), "duplicate": _("doublon")}
from .tasks import index_refresh_later, refresh_search_index

#: Zeroed titles shown on an import's page; the rest behind a link.
ZEROED_SHOWN = 20


def _csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (the values come from the shop's file)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class ContributorInline(admin.TabularInline):
    model = Contributor
    extra = 0


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    #: A shop or publisher address typed without a scheme is https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "isbn", "publisher", "availability", "published_on"]
    search_fields = ["=isbn", "title", "publisher", "contributors__name"]
    autocomplete_fields = ["subjects"]
    inlines = [ContributorInline]
    list_filter = ["availability", "product_form", "language"]
    readonly_fields = ["provenance_display", "created_at", "updated_at"]
    exclude = ["provenance", "onix_digest"]
    show_full_result_count = False

    @admin.display(description=_("provenance des données"))
    def provenance_display(self, obj):
        lines = obj.provenance_lines() if obj else []
        if not lines:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines)))

    def save_model(self, request, obj, form, change):
        entry = {
            "source": str(Book.Source.STAFF),
            "user": request.user.get_username(),
            "at": timezone.now().isoformat(),
        }
        for name in form.changed_data:
            obj.provenance[name] = entry
        if form.changed_data:
            obj.onix_digest = ""  # the ONIX record sent next is read in full again (a field cleared by staff refills)
        super().save_model(request, obj, form, change)
        if change and "availability" in form.changed_data:
            books_released_send(sender=Book, before={obj.pk: form.initial.get("availability")}, books=[obj])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        index_refresh_later([form.instance.pk])


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "scheme", "code"]
    list_filter = ["scheme"]
    search_fields = ["name", "name_en", "code"]


@admin.register(StockLine)
class StockLineAdmin(ShopScopedAdmin):
    list_display = ["book", "shop", "quantity", "held", "price", "changed_at"]
    list_filter = ["shop"]
    search_fields = ["=book__isbn", "book__title"]
    list_select_related = ["book", "shop"]
    readonly_fields = ["shop", "book", "quantity", "held", "price", "changed_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockImport)
class StockImportAdmin(ShopScopedAdmin):
    list_display = [
        "created_at",
        "shop",
        "status",
        "rows_read",
        "created_count",
        "updated_count",
        "zeroed_count",
        "rejected_count",
        "channel",
    ]
    list_filter = ["status", "channel", "shop"]
    date_hierarchy = "created_at"
    list_select_related = ["shop"]
    # What a bookseller reads, in reading order; the worker's bookkeeping (index refresh ids,
    # heartbeat, stock version, the raw report) stays out of the page.
    fields = readonly_fields = [
        "shop",
        "created_at",
        "created_by",
        "channel",
        "status",
        "phase",
        "message",
        "force",
        "partial",
        "downloads",
        "original_filename",
        "encoding",
        "delimiter",
        "rows_read",
        "created_count",
        "updated_count",
        "unchanged_count",
        "zeroed_count",
        "rejected_count",
        "warning_count",
        "problems_by_kind",
        "books_created_count",
        "lines_applied",
        "books_to_index",
        "started_at",
        "finished_at",
        "duration_ms",
        "line_report",
    ]

    @admin.display(description=_("téléchargements"))
    def downloads(self, obj):
        links = []
        if obj.file:
            links.append((reverse("admin:catalogue_stockimport_file", args=[obj.pk]), _("fichier reçu")))
        if obj.report:
            links.append((reverse("admin:catalogue_stockimport_report", args=[obj.pk]), _("rapport (CSV)")))
        return format_html_join(" · ", '<a href="{}">{}</a>', links) or "—"

    @admin.display(description=_("problèmes par type"))
    def problems_by_kind(self, obj):
        if not obj.problem_counts:
            return "—"
        return ", ".join(
            f"{PROBLEM_KINDS.get(kind, kind)} : {count}" for kind, count in sorted(obj.problem_counts.items())
        )

    @admin.display(description=_("rapport ligne à ligne"))
    def line_report(self, obj):
        if not obj.problems:
            return _("Aucune ligne rejetée.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (p["line"], _("erreur") if p["level"] == "error" else _("avertissement"), p["value"], p["error"])
                for p in obj.problems[:1000]
            ),
        )
        table = format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("ligne"),
            _("niveau"),
            _("valeur"),
            _("problème"),
            rows,
        )
        if obj.problems_left_out:
            left_out = _("… et %(count)s autres problèmes, comptés par type ci-dessus.") % {
                "count": obj.problems_left_out
            }
            return format_html("{}<p>{}</p>", table, left_out)
        return table

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:catalogue_stockimport_upload")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="catalogue_stockimport_upload"),
            path("<int:pk>/file/", wrap(self.file_view), name="catalogue_stockimport_file"),
            path("<int:pk>/report.csv", wrap(self.report_view), name="catalogue_stockimport_report"),
            path("<int:object_id>/progress/", wrap(self.progress_view), name="catalogue_stockimport_progress"),
            path("arrivals/", wrap(self.arrivals_view), name="catalogue_stockimport_arrivals"),
            path("<int:pk>/zeroed/", wrap(self.zeroed_view), name="catalogue_stockimport_zeroed"),
            path("<int:pk>/apply-anyway/", wrap(self.apply_anyway_view), name="catalogue_stockimport_apply_anyway"),
            *super().get_urls(),
        ]

    def _kept(self, request, pk) -> StockImport:
        """An import of the user's own shops (any for the association); 404 for every other id."""
        record = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        return record

    def file_view(self, request, pk):
        """The file as the shop sent it, only to that shop's staff and the association."""
        record = self._kept(request, pk)
        if not record.file:
            raise Http404("no file kept")
        try:
            handle = record.file.open("rb")
        except FileNotFoundError:
            raise Http404("kept file is missing") from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=record.original_filename or "stock.csv",
            content_type="application/octet-stream",
        )

    def report_view(self, request, pk):
        """The line-by-line report as CSV (opens in a spreadsheet)."""
        record = self._kept(request, pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rapport-import-{record.pk}.csv"'
        response.write("\ufeff")  # so that spreadsheets read UTF-8
        writer = csv.writer(response, delimiter=";")
        writer.writerow([_("ligne"), _("niveau"), _("valeur"), _("problème")])
        for problem in record.report:
            writer.writerow(
                [
                    problem.get("line"),
                    problem.get("level"),
                    _csv_cell(problem.get("value")),
                    _csv_cell(problem.get("error")),
                ]
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, object_id)
        extra = {}
        if record is not None:
            zeroed = record.zeroed_lines
            extra = {
                "record": record,
                "zeroed_shown": zeroed[:ZEROED_SHOWN],
                "zeroed_more": len(zeroed) > ZEROED_SHOWN,
                "zeroed_reserved": sum(1 for z in zeroed if z["held"]),
                "can_apply_anyway": record.can_retry and self.has_add_permission(request),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _record_or_404(self, request, pk):
        return get_object_or_404(self.get_queryset(request).select_related("shop"), pk=pk)

    def zeroed_view(self, request, pk):
        """Every title an import zeroed (or, refused, would have), as recorded in its report."""
        record = self._record_or_404(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "record": record,
            "title": _("Titres passés à zéro"),
            "zeroed": record.zeroed_lines,
            "total": record.zeroed_count or len(record.zeroed_lines),
        }
        return TemplateResponse(request, "admin/catalogue/stockimport/zeroed.html", context)

    def apply_anyway_view(self, request, pk):
        """« Appliquer quand même »: the kept file of a refused snapshot, applied with force."""
        record = self._record_or_404(request, pk)
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        if not record.can_retry:
            self.message_user(
                request,
                _("Cet import ne peut pas être appliqué tel quel : envoyez un nouveau fichier."),
                messages.ERROR,
            )
            return redirect(reverse("admin:catalogue_stockimport_change", args=[record.pk]))
        try:
            new = stock_import_retry(record=record, user=request.user, force=True)
        except StockImportRefused as refused:
            new = refused.stock_import
            self.message_user(request, new.message, messages.ERROR)
        else:
            self.message_user(request, new.message, messages.SUCCESS)
        return redirect(reverse("admin:catalogue_stockimport_change", args=[new.pk]))

    def arrivals_view(self, request):
        """« Nouveautés du jour »: a few lines changed by hand, through the same import as the API's PATCH."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        shop_form = ArrivalsShopForm(data, user=request.user)
        formset = ArrivalsFormSet(data, prefix="lines")
        if data is not None and shop_form.is_valid() and formset.is_valid():
            try:
                record = stock_import(
                    shop=shop_form.cleaned_data["shop"],
                    data=formset.as_stock_file(),
                    filename="nouveautes-du-jour.csv",
                    user=request.user,
                    channel=StockImport.Channel.ADMIN,
                    partial=True,
                )
            except StockImportRefused as refused:
                record = refused.stock_import
                self.message_user(request, record.message, messages.ERROR)
            else:
                self.message_user(request, record.message, messages.SUCCESS)
            return redirect(reverse("admin:catalogue_stockimport_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Nouveautés du jour"),
            "shop_form": shop_form,
            "formset": formset,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(
            request, "admin/catalogue/stockimport/arrivals.html", context, status=400 if data is not None else 200
        )

    def progress_view(self, request, object_id):
        """Where an import stands: refreshes itself (meta refresh without JavaScript, a quiet fetch with it)."""
        stock_imports_fail_stale()
        record = self.get_queryset(request).filter(pk=object_id).first()
        if record is None or not self.has_view_permission(request, record):
            raise PermissionDenied
        index = record.index_progress() if record.applied else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import du stock de %(shop)s") % {"shop": record.shop},
            "record": record,
            "index": index,
            "done": record.finished and record.phase == StockImport.Phase.DONE,
            "refresh_seconds": 2,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalogue/stockimport/progress.html", context)

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StockUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if getattr(request, "upload_too_large", False):
            form.add_error("file", form.too_large_message())
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            record = stock_import_create(
                shop=form.cleaned_data["shop"],
                file=upload,
                filename=upload.name,
                user=request.user,
                channel=StockImport.Channel.ADMIN,
                force=form.cleaned_data["force"],
                hold_check=True,
            )
            record = stock_import_start(stock_import=record)
            if not record.finished:  # in the worker's hands
                return redirect(reverse("admin:catalogue_stockimport_progress", args=[record.pk]))
            self.message_user(request, record.message, messages.SUCCESS if record.applied else messages.ERROR)
            return redirect(reverse("admin:catalogue_stockimport_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Envoyer le stock d'une librairie"),
            "form": form,
            "opts": self.model._meta,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/catalogue/stockimport/upload.html", context)


@admin.register(SearchMiss)
class SearchMissAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "last_seen_at"]
    search_fields = ["query"]
    date_hierarchy = "last_seen_at"
    ordering = ["-count", "-last_seen_at"]

    def has_add_permission(self, request):
        return False


@admin.register(IndexRefresh)
class IndexRefreshAdmin(OutboxAdmin):
    """Search-index refreshes after imports and edits: a failed one is retried, a given-up one shows here."""

    task = refresh_search_index
    list_display = ["created_at", "__str__", "done_at", "attempts", "failed_at", "gave_up_at", "last_error"]
    list_filter = [
        ("done_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
        ("gave_up_at", admin.EmptyFieldListFilter),
    ]
