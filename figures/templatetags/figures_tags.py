import datetime

from django import template
from django.utils import formats

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
    if type(value) in (int, float):
        return formats.number_format(value, 0 if type(value) is int else 1, force_grouping=True)
    return str(value)


@register.filter
def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
