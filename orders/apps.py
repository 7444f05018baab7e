from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Commandes et alertes")

    def ready(self):
        from . import receivers  # noqa: F401 - listens to the stock's changes
