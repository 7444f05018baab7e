from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookshopsConfig(AppConfig):
    name = "bookshops"
    verbose_name = _("Librairies")
