import datetime

from django import forms
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bookshops.models import Shop

from .selectors import Scope, default_period, months_before

#: The longest period the page shows at once.
MAX_MONTHS = 36


class MonthField(forms.CharField):
    """A month as ``YYYY-MM`` (the browser's ``<input type="month">``), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "placeholder": "2026-01"})
    default_error_messages = {"invalid": _("Indiquez un mois sous la forme AAAA-MM, par exemple 2026-01.")}

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return datetime.datetime.strptime(value.strip()[:7], "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class FastSelect(forms.Select):
    """A select drawn in one pass: a thousand shops through the per-option templates took over a second."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) in chosen else "", label)
                for key, label in ((str(k), l) for k, l in self.choices)
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, forms.utils.flatatt(attrs), options)


class FiguresForm(forms.Form):
    start = MonthField(label=_("Du mois"), required=False)
    end = MonthField(label=_("au mois"), required=False)
    department = forms.ChoiceField(label=_("Département"), required=False, widget=FastSelect)
    shop = forms.ModelChoiceField(
        label=_("Librairie"), queryset=Shop.objects.none(), required=False, empty_label=_("toutes"), widget=FastSelect
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["shop"].queryset = Shop.objects.for_user(user).only("pk", "name", "town").order_by("name")
        departments = Shop.objects.exclude(department="").values_list("department", flat=True).distinct()
        self.fields["department"].choices = [("", _("tous"))] + [(d, d) for d in sorted(departments)]

    def clean(self):
        data = super().clean()
        this_month = timezone.localdate().replace(day=1)
        end = data.get("end") or this_month
        start = data.get("start") or months_before(end, 11)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            raise forms.ValidationError(_("Le premier mois doit venir avant le dernier."))
        if months_before(end, MAX_MONTHS - 1) > start:
            raise forms.ValidationError(_("Choisissez au plus %(n)s mois à la fois.") % {"n": MAX_MONTHS})
        data["start"], data["end"] = start, end
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data if self.is_bound else self._defaults()
        shop = data.get("shop")
        if shop is not None:
            shops = [shop]
        elif self.user.is_superuser:
            shops = None
        else:
            shops = list(Shop.objects.for_user(self.user).order_by("name"))
        return Scope(start=data["start"], end=data["end"], department=data.get("department") or "", shops=shops)

    def _defaults(self) -> dict:
        start, end = default_period(timezone.localdate())
        return {"start": start, "end": end}
