from django import template

from ..selectors import picks_for_book, picks_for_shop

register = template.Library()


@register.simple_tag
def shop_picks(shop):
    """``{% shop_picks shop as picks %}``: the shop's visible picks, with their books."""
    return picks_for_shop(shop)


@register.simple_tag
def book_picks(book):
    """``{% book_picks book as picks %}``: the visible picks of the book, with their shops."""
    return picks_for_book(book)


@register.filter
def short_shop_name(name: str) -> str:
    """ "Librairie Mollat" → "Mollat", for "le coup de cœur de la librairie …"."""
    head, _sep, rest = (name or "").partition(" ")
    return rest if head.lower() == "librairie" and rest else name
