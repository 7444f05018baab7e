"""Deploy checks for settings that broke production before: `manage.py check --deploy` reports them."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


@register(Tags.security, Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PER_PROCESS_CACHES:
        return [
            Error(
                f"The default cache is per process ({backend.rsplit('.', 1)[-1]}): with several gunicorn workers "
                "each counts its own reservation and password-reset limits, so they let through a multiple of what "
                "they allow.",
                hint="Set CACHE_URL=dbcache://portal_cache (then run `manage.py createcachetable`) "
                "or CACHE_URL=rediscache://127.0.0.1:6379/1.",
                id="portal.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_link_base_url(app_configs, **kwargs):
    url = urlsplit(settings.RESERVATIONS_LINK_BASE_URL)
    if url.hostname in LOCAL_HOSTS or url.hostname is None or url.scheme != "https":
        return [
            Warning(
                f"RESERVATIONS_LINK_BASE_URL is {settings.RESERVATIONS_LINK_BASE_URL!r}: every link in the e-mails "
                "to readers and shops (the reader's page, cancelling) would point there.",
                hint="Set RESERVATIONS_LINK_BASE_URL to the portal's public https address, "
                "e.g. https://librairies.example.",
                id="portal.W002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_email_url(app_configs, **kwargs):
    if not settings.EMAIL_URL:
        return [
            Warning(
                f"EMAIL_URL is not set: e-mails go to {settings.EMAIL_BACKEND.rsplit('.', 1)[-1]} on "
                f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}, and readers, shops and password resets get nothing "
                "unless a mail server listens there.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example:587 "
                "(or smtp://localhost:25 if a relay really runs on this machine).",
                id="portal.W003",
            )
        ]
    return []
