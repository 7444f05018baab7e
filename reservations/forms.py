import secrets

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CopiesForm(forms.Form):
    """How many copies (up to what is available) and a one-time token against double submission."""

    quantity = forms.TypedChoiceField(label=_("Exemplaires"), coerce=int, initial=1)
    #: One-time token: the same form sent twice makes one reservation.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, available: int, **kwargs):
        super().__init__(*args, **kwargs)
        top = max(1, min(available, settings.RESERVATIONS_MAX_COPIES))
        self.fields["quantity"].choices = [(n, str(n)) for n in range(1, top + 1)]
        if not self.is_bound:
            self.initial.setdefault("form_token", secrets.token_urlsafe(24))


class ReservationForm(CopiesForm):
    field_order = ["reader_name", "reader_email", "reader_phone", "quantity", "note"]
    reader_name = forms.CharField(
        label=_("Votre nom"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    reader_email = forms.EmailField(
        label=_("Votre e-mail"),
        help_text=_("Pour vous dire quand le livre est prêt."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    reader_phone = forms.CharField(
        label=_("Téléphone (facultatif)"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    note = forms.CharField(
        label=_("Message pour la librairie (facultatif)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    #: Left empty by people; bots fill every field.
    website = forms.CharField(
        label=_("Ne pas remplir ce champ"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def full_clean(self):
        super().full_clean()
        # Screen readers announce a field's error and help with it only when the field points at them.
        for name in self.errors:
            if name in self.fields:
                field = self[name]
                described = [f"{field.auto_id}_error"] + ([f"{field.auto_id}_helptext"] if field.help_text else [])
                field.field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": " ".join(described)})

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(
                _("Ce champ doit rester vide : votre demande ressemble à un envoi automatique.")
            )
        return ""


class ReasonForm(forms.Form):
    """A reason the reader receives: a cancellation by default, a declined order with its own label."""

    reason = forms.CharField(label=_("Motif d'annulation"), max_length=300)

    def __init__(self, *args, label=None, help_text="", **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        self.fields["reason"].help_text = help_text


class ColleagueSearchForm(forms.Form):
    """A bookseller's lookup: the book, and which of their shops distances are measured from."""

    q = forms.CharField(
        label=_("ISBN ou titre"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "size": 40}),
    )
    shop = forms.ModelChoiceField(label=_("Votre librairie"), queryset=None, empty_label=None)

    def __init__(self, *args, shops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops
        first = shops.first()
        if first is not None:
            self.fields["shop"].initial = first.pk
        if shops.count() < 2:
            self.fields["shop"].widget = forms.HiddenInput()


class OnBehalfReservationForm(CopiesForm):
    """A bookseller reserves a copy at a colleague's shop for a customer at the counter."""

    field_order = ["reader_name", "reader_email", "reader_phone", "quantity"]

    reader_name = forms.CharField(label=_("Nom du client"), max_length=200)
    reader_email = forms.EmailField(
        label=_("E-mail du client"),
        required=False,
        help_text=_("Le client y reçoit la confirmation puis l'avis de mise de côté."),
    )
    reader_phone = forms.CharField(
        label=_("Téléphone du client"),
        max_length=30,
        required=False,
        help_text=_("Sans e-mail, la librairie appelle le client quand le livre est prêt."),
    )

    def clean(self):
        data = super().clean()
        if not data.get("reader_email") and not data.get("reader_phone") and "reader_email" not in self.errors:
            raise forms.ValidationError(_("Indiquez l'e-mail ou le téléphone du client (l'un des deux suffit)."))
        return data


class MoveToShopForm(forms.Form):
    """Which colleague's shop a reservation goes to."""

    shop = forms.ModelChoiceField(label=_("Librairie"), queryset=None, widget=forms.RadioSelect, empty_label=None)
    reason = forms.CharField(
        label=_("Motif (facultatif)"),
        max_length=300,
        required=False,
        help_text=_("Gardé dans l'historique de la réservation."),
    )

    def __init__(self, *args, shops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops
