from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from ..models import Book, Subject
from .text import MAX_QUERY_LENGTH


class QueryField(forms.CharField):
    """Free text that never fails: NUL bytes dropped, cut to a sane length."""

    def to_python(self, value):
        value = super().to_python((value or "").replace("\x00", ""))
        return value[:MAX_QUERY_LENGTH]


class SearchForm(forms.Form):
    q = QueryField(label=_("Titre, auteur, éditeur ou ISBN"), required=False)
    in_stock = forms.BooleanField(label=_("Seulement les livres en stock"), required=False)
    out_of_print = forms.BooleanField(label=_("Seulement les livres épuisés chez l'éditeur"), required=False)
    genre = forms.ModelChoiceField(
        label=_("Genre"), queryset=Subject.objects.none(), required=False, empty_label=_("Tous les genres")
    )
    near_only = forms.BooleanField(label=_("Seulement les livres disponibles près de chez moi"), required=False)
    #: Limits the search to one shop's stock (the search box of a shop's page).
    shop = forms.SlugField(required=False)
    page = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        used = Book.subjects.through.objects.filter(subject_id=OuterRef("pk"))
        self.fields["genre"].queryset = Subject.objects.filter(Exists(used)).order_by("name")
