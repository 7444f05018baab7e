import unicodedata

from django import forms
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..models import Book, Subject
from .engine import SORT_DATE, SORT_RELEVANCE, SORT_TITLE
from .text import MAX_QUERY_LENGTH

GENRES_CACHE_SECONDS = 600


class QueryField(forms.CharField):
    """Free text that never fails: NUL bytes dropped, cut to a sane length."""

    def to_python(self, value):
        value = super().to_python((value or "").replace("\x00", ""))
        return value[:MAX_QUERY_LENGTH]


class SearchForm(forms.Form):
    q = QueryField(label=_("Titre, auteur, éditeur ou ISBN"), required=False)
    in_stock = forms.BooleanField(label=_("Seulement les livres en stock"), required=False)
    out_of_print = forms.BooleanField(label=_("Seulement les livres épuisés chez l'éditeur"), required=False)
    genre = forms.TypedChoiceField(label=_("Genre"), coerce=int, required=False, empty_value=None)
    near_only = forms.BooleanField(label=_("Seulement les livres disponibles près de chez moi"), required=False)
    #: Limits the search to one shop's stock (the search box of a shop's page).
    shop = forms.SlugField(required=False)
    page = forms.IntegerField(required=False, min_value=1)
    sort = forms.ChoiceField(
        label=_("Trier par"),
        required=False,
        choices=[(SORT_RELEVANCE, _("pertinence")), (SORT_TITLE, _("titre")), (SORT_DATE, _("date de parution"))],
    )

    def clean_sort(self):
        return self.cleaned_data.get("sort") or SORT_RELEVANCE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        genres = sorted(
            ((pk, (english and name_en) or name) for pk, name, name_en in genres_in_use()),
            key=lambda genre: (unicodedata.normalize("NFKD", genre[1].casefold()), genre[0]),
        )
        self.fields["genre"].choices = [("", _("Tous les genres")), *genres]


def genre_label(name: str) -> str:
    """A subject's name as the filter shows it: "ROMANS POLICIERS" → "Romans policiers"."""
    name = " ".join(name.split())
    return name[:1].upper() + name[1:].lower() if name.isupper() else name


def genres_in_use() -> list[tuple[int, str, str]]:
    """The named genres of the catalogue's books (id, French name, English name), for the filter; cached.

    A bare code means nothing to a reader: subjects without a name of their own are left out.
    """

    def query():
        used = Book.subjects.through.objects.filter(subject_id=OuterRef("pk"))
        named = Subject.objects.filter(Exists(used)).exclude(name="").exclude(name=F("code"))
        return [
            (pk, genre_label(name), genre_label(name_en) if name_en else "")
            for pk, name, name_en in named.values_list("pk", "name", "name_en")
        ]

    return cache.get_or_set("search:genres:v2", query, GENRES_CACHE_SECONDS)
