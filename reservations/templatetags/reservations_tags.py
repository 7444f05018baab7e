from django import template

from ..pauses import pause_for_shop

register = template.Library()


@register.simple_tag
def reservation_pause(shop):
    """The pause in force at ``shop`` (``{% reservation_pause line.shop as pause %}``), or None."""
    return pause_for_shop(shop)
