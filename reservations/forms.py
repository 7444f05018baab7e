import secrets

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ReservationForm(forms.Form):
    reader_name = forms.CharField(label=_("Votre nom"), max_length=200)
    reader_email = forms.EmailField(label=_("Votre e-mail"), help_text=_("Pour vous dire quand le livre est prêt."))
    reader_phone = forms.CharField(label=_("Téléphone (facultatif)"), max_length=30, required=False)
    quantity = forms.TypedChoiceField(label=_("Exemplaires"), coerce=int, initial=1)
    note = forms.CharField(
        label=_("Message pour la librairie (facultatif)"), max_length=1000, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    #: One-time token: the same form sent twice makes one reservation.
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    #: Left empty by people; bots fill every field.
    website = forms.CharField(
        label=_("Ne pas remplir ce champ"), required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, available: int, **kwargs):
        super().__init__(*args, **kwargs)
        top = max(1, min(available, settings.RESERVATIONS_MAX_COPIES))
        self.fields["quantity"].choices = [(n, str(n)) for n in range(1, top + 1)]
        if not self.is_bound:
            self.initial.setdefault("form_token", secrets.token_urlsafe(24))

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(
                _("Ce champ doit rester vide : votre demande ressemble à un envoi automatique.")
            )
        return ""


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Motif d'annulation"), max_length=300)
