from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def km(distance):
    """A distance as a reader says it: "moins d'un km", "2,5 km", "37 km"."""
    if distance is None:
        return ""
    if distance < 1:
        return _("moins d'un km")
    return _("%(km)s km") % {"km": floatformat(distance, 1 if distance < 10 else 0)}
