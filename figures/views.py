import csv
import datetime
import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookshops.models import Shop

from . import selectors
from .charts import horizontal_bars, stacked_bars
from .forms import FiguresForm
from .models import DELAY_EDGES_MINUTES
from .services import figures_refresh


def _allowed(user) -> bool:
    """The association, or a bookseller who handles reservations of at least one shop."""
    if user.is_superuser:
        return True
    return user.has_perm("reservations.view_reservation") and Shop.objects.for_user(user).exists()


def figures_page(request):
    """The network's figures (the association) or one's own shops' with the network's for comparison."""
    if not _allowed(request.user):
        raise PermissionDenied
    form = FiguresForm(request.GET or None, user=request.user)
    context = {**admin.site.each_context(request), "title": _("Chiffres du réseau"), "form": form}
    if form.is_bound and not form.is_valid():
        return TemplateResponse(request, "admin/figures/index.html", context, status=400)
    scope = form.scope()
    wanted = request.GET.get("csv")
    if not wanted:
        scope.limit = selectors.PAGE_ROWS
    if wanted:
        builder = selectors.FIGURES.get(wanted)
        if builder is None:
            raise Http404("no such table")
        return _csv(builder(scope), scope)
    tables = {
        name: builder(scope)
        for name, builder in selectors.FIGURES.items()
        if not (name == "titres-reseau" and scope.is_network)
    }
    delay_chart, delay_rows = _delay_chart(*selectors.confirm_histogram(scope), scope)
    context.update(
        scope=scope,
        refresh=selectors.last_refresh(),
        month_chart=_month_chart(tables["par-mois"], selectors.RESERVATIONS),
        order_month_chart=_month_chart(tables["commandes-par-mois"], selectors.ORDERS),
        alert_month_chart=_month_chart(tables["alertes-par-mois"], selectors.ALERTS),
        outcome_chart=_outcome_chart(tables["par-librairie"], scope),
        delay_chart=delay_chart,
        delay_rows=delay_rows,
        tables={name.replace("-", "_"): table.clip() for name, table in tables.items()},
        query=request.GET.urlencode() if request.GET else "",
        title=_("Chiffres du réseau") if scope.is_network else _("Chiffres de votre librairie"),
    )
    return TemplateResponse(request, "admin/figures/index.html", context)


def _month_chart(table, requests):
    months = [
        formats.date_format(row[0], "M") + (f"\n{row[0].year}" if index == 0 or row[0].month == 1 else "")
        for index, row in enumerate(table.rows)
    ]
    series = [
        (str(label), f"s{index}", [row[2 + index] for row in table.rows])
        for index, (_key, label) in enumerate(requests.outcomes)
    ]
    return stacked_bars(
        chart_id=f"chart-{requests.prefix}months", title=str(table.title), categories=months, series=series
    )


def _outcome_chart(table, scope):
    mine = table.footer[0] if scope.is_network and table.footer else None
    rows = []
    for index, (_key, label) in enumerate(selectors.OUTCOMES):
        column = 4 + 2 * index
        bars = []
        if scope.is_network:
            bars.append((_("réseau"), "s0", mine[column] if mine else None))
        else:
            total = sum(row[2] for row in table.rows)
            part = sum(row[column - 1] for row in table.rows)
            bars.append((_("vos librairies"), "s0", selectors.rate(part, total)))
            bars.append((_("réseau"), "s6", table.footer[0][column] if table.footer else None))
        rows.append((str(label), bars))
    return horizontal_bars(
        chart_id="chart-outcomes", title=_("Issue des réservations, en % des réservations"), rows=rows, unit=" %"
    )


def _delay_chart(mine, network, scope):
    labels = [str(selectors.Delay(edge)) for edge in DELAY_EDGES_MINUTES] + [str(selectors.OVER)]
    total_mine, total_network = sum(mine.values()) or 1, sum(network.values()) or 1
    series = [
        (
            _("vos librairies") if not scope.is_network else _("réseau"),
            "s0",
            [100 * mine.get(i, 0) / total_mine for i in range(len(labels))],
        )
    ]
    if not scope.is_network:
        series.append((_("réseau"), "s6", [100 * network.get(i, 0) / total_network for i in range(len(labels))]))
    rows = [
        (label, [(name, css, values[i]) for name, css, values in series])
        for i, label in enumerate(labels)
        if any(values[i] for _n, _c, values in series)
    ]
    return horizontal_bars(
        chart_id="chart-delays",
        title=_("Délai de mise de côté : part des réservations confirmées"),
        rows=rows,
        unit=" %",
    ), rows


def _csv_text(text: str) -> str:
    """A cell a spreadsheet would run as a formula (searches are typed by anyone) is quoted as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_cell(value):
    if value is None:
        return ""
    if type(value) is int:  # most cells: nothing to format
        return value
    if type(value) is str:
        return _csv_text(value)
    if isinstance(value, selectors.Percent):
        return f"{value:.1f}"
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, datetime.date):
        return value.isoformat()[:7] if value.day == 1 else value.isoformat()
    return str(value) if isinstance(value, (int, float)) else _csv_text(str(value))


def _csv(table, scope):
    text = io.StringIO()
    text.write("\ufeff")  # spreadsheets then read UTF-8 accents right
    writer = csv.writer(text, delimiter=";")
    writer.writerow([str(column) for column in table.columns])
    # Written whole, then handed over once: tens of thousands of writes to the response took a second.
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows + table.footer)
    response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"{table.name}-{scope.start:%Y-%m}-{scope.end:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def figures_refresh_now(request):
    """Recompute the figures now (the association only; they are otherwise refreshed on a schedule)."""
    if not request.user.is_superuser:
        raise PermissionDenied
    refresh = figures_refresh()
    messages.success(
        request,
        _("Chiffres recalculés en %(seconds)s s.") % {"seconds": formats.number_format(refresh.duration_ms / 1000, 1)},
    )
    return redirect("figures:index")
