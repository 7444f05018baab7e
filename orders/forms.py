import secrets

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bookshops.templatetags.bookshops_tags import km
from catalogue.services import READER_TITLE_MAX_LENGTH
from reservations.forms import ReservationForm


class OrderForm(ReservationForm):
    """The reservation form's fields (and honeypot), copies up to ``ORDERS_MAX_COPIES``, and the shop."""

    field_order = ["book_title", "shop", "reader_name", "reader_email", "reader_phone", "quantity", "note"]
    shop = forms.TypedChoiceField(label=_("Librairie"), coerce=int)

    def __init__(self, *args, shops, unknown_book=False, **kwargs):
        super().__init__(*args, available=settings.ORDERS_MAX_COPIES, **kwargs)
        if unknown_book:
            self.fields["book_title"] = book_title_field()
            self.order_fields(self.field_order)
        self.fields["reader_email"].help_text = _("Pour confirmer la commande, puis vous dire où elle en est.")
        self.fields["shop"].choices = [(shop.pk, _shop_label(shop)) for shop in shops]
        if shops and not self.is_bound:
            self.initial.setdefault("shop", shops[0].pk)


def book_title_field() -> forms.CharField:
    """The title of a book the catalogue does not know, as the reader knows it (optional)."""
    return forms.CharField(
        label=_("Titre du livre (facultatif)"),
        help_text=_("Pour aider la librairie : le titre et l'auteur tels que vous les connaissez."),
        max_length=READER_TITLE_MAX_LENGTH,
        required=False,
    )


def _shop_label(shop) -> str:
    label = f"{shop.name} ({shop.town})"
    if getattr(shop, "distance_km", None) is not None:
        label += f" — {km(shop.distance_km)}"
    return (
        label
        + " — "
        + str(
            _("en général %(low)s à %(high)s jours")
            % {"low": shop.order_delay_min_days, "high": shop.order_delay_max_days}
        )
    )


class AlertForm(forms.Form):
    reader_email = forms.EmailField(
        label=_("Votre e-mail"),
        help_text=_("Un seul message, quand un exemplaire est disponible ; désinscription en un clic."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    where = forms.ChoiceField(label=_("Où ?"), widget=forms.RadioSelect)
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, location, shops, unknown_book=False, **kwargs):
        super().__init__(*args, **kwargs)
        if unknown_book:
            self.fields["book_title"] = book_title_field()
        choices = []
        if location is not None:
            choices.append(
                (
                    "near",
                    _("près de %(place)s") % {"place": location.label}
                    + (f" ({location.radius_km} km)" if location.radius_km else ""),
                )
            )
        choices += [(f"shop:{shop.pk}", f"{shop.name} ({shop.town})") for shop in shops]
        self.fields["where"].choices = choices
        if choices and not self.is_bound:
            self.initial.setdefault("where", choices[0][0])
            self.initial.setdefault("form_token", secrets.token_urlsafe(24))
