import csv
import io

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from bookshops.models import Shop

from .exceptions import InvalidISBN
from .isbn import normalize_isbn


class ShopChoiceMixin:
    """A ``shop`` field of the user's shops: the first preselected, hidden when there is only one."""

    def _limit_shops(self, user):
        shops = Shop.objects.for_user(user).order_by("name")
        field = self.fields["shop"]
        field.queryset, field.empty_label = shops, None
        first = shops.first()
        if first is not None:
            field.initial = first.pk
        if shops.count() < 2:
            field.widget = forms.HiddenInput()


class StockUploadForm(ShopChoiceMixin, forms.Form):
    shop = forms.ModelChoiceField(label=_("Librairie"), queryset=Shop.objects.none())
    file = forms.FileField(
        label=_("Fichier de stock"),
        help_text=_("Export CSV complet du logiciel de la librairie : colonnes EAN/ISBN et quantité au minimum."),
    )
    force = forms.BooleanField(
        label=_("Appliquer même si beaucoup de titres passent à zéro"),
        required=False,
        help_text=_("À cocher seulement si vous savez que votre stock a réellement beaucoup diminué."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_shops(user)

    @staticmethod
    def too_large_message():
        return _("Fichier trop volumineux (%(size)s au plus).") % {
            "size": filesizeformat(settings.STOCK_FILE_MAX_BYTES)
        }

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > settings.STOCK_FILE_MAX_BYTES:
            raise forms.ValidationError(self.too_large_message())
        return file


class ArrivalLineForm(forms.Form):
    """One line of today's arrivals: a book, how many the shop now has, its price."""

    isbn = forms.CharField(
        label=_("ISBN"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 17}),
    )
    quantity = forms.IntegerField(
        label=_("Quantité en stock"),
        min_value=0,
        max_value=100000,
        required=False,
        widget=forms.NumberInput(attrs={"size": 5}),
    )
    price = forms.DecimalField(
        label=_("Prix TTC (€)"),
        min_value=0,
        max_value=999999,
        decimal_places=2,
        required=False,
        localize=True,
        widget=forms.TextInput(attrs={"size": 7, "inputmode": "decimal"}),
    )

    def clean_isbn(self):
        value = self.cleaned_data["isbn"].strip()
        if not value:
            return ""
        try:
            return normalize_isbn(value)
        except InvalidISBN as error:
            raise forms.ValidationError(error.message) from None

    def clean(self):
        data = super().clean()
        if data.get("isbn") and data.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", _("Indiquez la quantité en stock."))
        if (
            not data.get("isbn")
            and "isbn" not in self.errors
            and (data.get("quantity") is not None or data.get("price"))
        ):
            self.add_error("isbn", _("Indiquez l'ISBN de ce livre."))
        return data


class BaseArrivalsFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError(_("Remplissez au moins une ligne : ISBN et quantité."))

    def lines(self) -> list[dict]:
        return [f.cleaned_data for f in self.forms if f.cleaned_data.get("isbn")]

    def as_stock_file(self) -> bytes:
        """The lines as the stock file the import reads (EAN;Qté;Prix TTC)."""
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(["EAN", "Qté", "Prix TTC"])
        for line in self.lines():
            writer.writerow([line["isbn"], line["quantity"], "" if line["price"] is None else str(line["price"])])
        return out.getvalue().encode()


#: A few lines: more is a stock file.
ArrivalsFormSet = forms.formset_factory(
    ArrivalLineForm, formset=BaseArrivalsFormSet, extra=5, max_num=20, absolute_max=20, validate_max=True
)


class ArrivalsShopForm(ShopChoiceMixin, forms.Form):
    shop = forms.ModelChoiceField(label=_("Librairie"), queryset=Shop.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_shops(user)
