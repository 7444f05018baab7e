from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from bookshops.models import Shop


class StockUploadForm(forms.Form):
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
        self.fields["shop"].queryset = Shop.objects.for_user(user)

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > settings.STOCK_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("Fichier trop volumineux (%(size)s au plus).") % {"size": filesizeformat(settings.STOCK_FILE_MAX_BYTES)}
            )
        return file
