from django.contrib import admin, messages
from django.db import models
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bookshops.admin_scoping import ShopScopedAdmin
from portal.admin import OutboxAdmin

from .exceptions import StockImportRefused
from .forms import ArrivalsFormSet, ArrivalsShopForm, StockUploadForm
from .models import Book, Contributor, IndexRefresh, SearchMiss, StockImport, StockLine, Subject
from .stock.snapshots import stock_import, stock_import_retry
from .tasks import index_refresh_later, refresh_search_index

#: Zeroed titles shown on an import's page; the rest behind a link.
ZEROED_SHOWN = 20


class ContributorInline(admin.TabularInline):
    model = Contributor
    extra = 0


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    #: A shop or publisher address typed without a scheme is https (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "isbn", "publisher", "availability", "published_on"]
    list_filter = ["availability", "language"]
    search_fields = ["=isbn", "title", "publisher", "contributors__name"]
    autocomplete_fields = ["subjects"]
    inlines = [ContributorInline]
    readonly_fields = ["provenance", "created_at", "updated_at"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        for name in form.changed_data:
            obj.provenance[name] = Book.Source.STAFF
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        index_refresh_later([form.instance.pk])


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "scheme", "code"]
    list_filter = ["scheme"]
    search_fields = ["name", "code"]


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
    list_display = ["created_at", "shop", "status", "rows_read", "created_count", "updated_count",
                    "zeroed_count", "rejected_count", "channel"]
    list_filter = ["status", "channel", "shop"]
    date_hierarchy = "created_at"
    list_select_related = ["shop"]
    exclude = ["report"]
    readonly_fields = [
        "shop", "created_at", "created_by", "channel", "status", "message", "file", "original_filename",
        "encoding", "delimiter", "rows_read", "created_count", "updated_count", "unchanged_count",
        "zeroed_count", "rejected_count", "books_created_count", "duration_ms", "line_report",
    ]

    @admin.display(description=_("rapport ligne à ligne"))
    def line_report(self, obj):
        if not obj.problems:
            return _("Aucune ligne rejetée.")
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((p["line"], _("erreur") if p["level"] == "error" else _("avertissement"), p["value"], p["error"])
             for p in obj.problems[:1000]),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("ligne"), _("niveau"), _("valeur"), _("problème"), rows,
        )

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
            path("arrivals/", wrap(self.arrivals_view), name="catalogue_stockimport_arrivals"),
            path("<int:pk>/zeroed/", wrap(self.zeroed_view), name="catalogue_stockimport_zeroed"),
            path("<int:pk>/apply-anyway/", wrap(self.apply_anyway_view), name="catalogue_stockimport_apply_anyway"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, object_id)
        extra = {}
        if record is not None:
            zeroed = record.zeroed_lines
            extra = {
                "record": record, "zeroed_shown": zeroed[:ZEROED_SHOWN], "zeroed_more": len(zeroed) > ZEROED_SHOWN,
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
            **self.admin_site.each_context(request), "opts": self.model._meta, "record": record,
            "title": _("Titres passés à zéro"), "zeroed": record.zeroed_lines,
            "total": record.zeroed_count or len(record.zeroed_lines),
        }
        return TemplateResponse(request, "admin/catalogue/stockimport/zeroed.html", context)

    def apply_anyway_view(self, request, pk):
        """« Appliquer quand même »: the kept file of a refused snapshot, applied with force."""
        record = self._record_or_404(request, pk)
        if request.method != "POST" or not self.has_add_permission(request):
            raise PermissionDenied
        if not record.can_retry:
            self.message_user(request, _("Cet import ne peut pas être appliqué tel quel : envoyez un nouveau fichier."),
                              messages.ERROR)
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
                    shop=shop_form.cleaned_data["shop"], data=formset.as_stock_file(),
                    filename="nouveautes-du-jour.csv", user=request.user, channel=StockImport.Channel.ADMIN,
                    partial=True,
                )
            except StockImportRefused as refused:
                record = refused.stock_import
                self.message_user(request, record.message, messages.ERROR)
            else:
                self.message_user(request, record.message, messages.SUCCESS)
            return redirect(reverse("admin:catalogue_stockimport_change", args=[record.pk]))
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": _("Nouveautés du jour"), "shop_form": shop_form, "formset": formset,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/catalogue/stockimport/arrivals.html", context,
                                status=400 if data is not None else 200)

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StockUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = stock_import(
                    shop=form.cleaned_data["shop"],
                    data=upload.read(),
                    filename=upload.name,
                    user=request.user,
                    channel=StockImport.Channel.ADMIN,
                    force=form.cleaned_data["force"],
                    hold_check=True,
                )
            except StockImportRefused as refused:
                record = refused.stock_import
                self.message_user(request, record.message, messages.ERROR)
            else:
                self.message_user(request, record.message, messages.SUCCESS)
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
    list_display = ["query", "created_at"]
    search_fields = ["query"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(IndexRefresh)
class IndexRefreshAdmin(OutboxAdmin):
    """Search-index refreshes after imports and edits: a failed one is retried, a given-up one shows here."""

    task = refresh_search_index
    list_display = ["created_at", "__str__", "done_at", "attempts", "failed_at", "gave_up_at", "last_error"]
    list_filter = [("done_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter),
                   ("gave_up_at", admin.EmptyFieldListFilter)]
