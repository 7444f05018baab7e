from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PassCultureConfig(AppConfig):
    name = "passculture"
    verbose_name = _("pass Culture")

    def ready(self):
        from catalogue.stock.signals import stock_changed

        from .services import push_mark

        stock_changed.connect(push_mark, dispatch_uid="passculture.push_mark")
