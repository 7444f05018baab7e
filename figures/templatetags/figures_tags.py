import datetime

from django import template
from django.utils import formats
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def figure(value):
    """One cell of a figures table as the page prints it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.datetime):
        return formats.date_format(value, "j M Y H:i")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "F Y")
    if type(value) is int and -1000 < value < 1000:
        return str(value)  # the common case, without number_format's cost
    if type(value) in (int, float):
        return formats.number_format(value, 0 if type(value) is int else 1, force_grouping=True)
    return str(value)


@register.filter
def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@register.filter
def figure_row(row):
    """A table row's cells: the first a row header, numbers right-aligned (one filter, not a loop per cell)."""
    first, *rest = row
    return format_html(
        '<th scope="row">{}</th>{}',
        figure(first),
        format_html_join(
            "", "<td{}>{}</td>", ((' class="number"' if is_number(cell) else "", figure(cell)) for cell in rest)
        ),
    )
