from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def km(distance):
    """A distance as a reader says it: "moins d'un km", "2,5 km", "37 km"."""
    if distance is None:
        return ""
    if distance < 1:
        return _("moins d'un km")
    return _("%(km)s km") % {"km": floatformat(distance, 1 if distance < 10 else 0)}


@register.filter
def confirm_delay(minutes):
    """A shop's usual confirmation delay as a reader reads it: "moins d'une heure", "3 h", "2 jours"."""
    if minutes is None:
        return ""
    if minutes <= 60:
        return _("moins d'une heure")
    if minutes < 24 * 60:
        return _("%(hours)s h") % {"hours": round(minutes / 60)}
    days = round(minutes / (24 * 60))
    return ngettext("%(days)s jour", "%(days)s jours", days) % {"days": days}
