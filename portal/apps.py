from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Librairies en réseau"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
