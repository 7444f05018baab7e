import datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

register = template.Library()

#: Letters before which French elides "de" into "d'" (a silent h is the common case of town names).
FRENCH_VOWELS = "aàâeéèêëiîïoôuùûyhAÀÂEÉÈÊËIÎÏOÔUÙÛYH"


@register.filter
def km(distance):
    """A distance as a reader says it: "moins d'un km", "2,5 km", "37 km"."""
    if distance is None:
        return ""
    if distance < 1:
        return _("moins d'un km")
    return _("%(km)s km") % {"km": floatformat(distance, 1 if distance < 10 else 0)}


def french_of(place: str) -> str:
    """ "de Bergerac", "d'Andernos-les-Bains", "du Bouscat", "des Eyzies": French "de" before a place name."""
    place = (place or "").strip()
    if place.startswith("près de "):
        place = place.removeprefix("près de ")
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if place.startswith(article):
            return contracted + place.removeprefix(article)
    if place[:1] and place[0] in FRENCH_VOWELS:
        return "d'" + place
    return "de " + place


@register.filter
def of_place(place: str, english: str = "of") -> str:
    """The place with its preposition: "de Pau", "d'Agen" in French; in English the one given ("from Pau")."""
    if (get_language() or "fr").startswith("fr"):
        return french_of(place)
    return f"{english} {(place or '').strip().removeprefix('near ')}"


@register.filter
def hour(value: datetime.time | datetime.datetime | None) -> str:
    """A time as the reader's language writes it: "9 h 30", "14 h" / "9:30", "14:00"."""
    if value is None:
        return ""
    if value.minute:
        return _("%(hour)d h %(minute)02d") % {"hour": value.hour, "minute": value.minute}
    return _("%(hour)d h") % {"hour": value.hour}


@register.filter
def opens_label(moment: datetime.datetime | None) -> str:
    """When a closed shop opens next: "ouvre à 14 h", "ouvre demain à 9 h 30", "ouvre mardi à 10 h"."""
    if moment is None:
        return ""
    moment = timezone.localtime(moment)
    days = (moment.date() - timezone.localdate()).days
    time = hour(moment)
    if days <= 0:
        return _("ouvre à %(time)s") % {"time": time}
    if days == 1:
        return _("ouvre demain à %(time)s") % {"time": time}
    if days < 7:
        return _("ouvre %(day)s à %(time)s") % {"day": date_filter(moment, "l"), "time": time}
    return _("ouvre le %(date)s à %(time)s") % {"date": date_filter(moment, "j F"), "time": time}


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
