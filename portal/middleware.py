import time

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from .routers import replica_configured, reset_primary, use_primary


class FrenchFirstLocaleMiddleware(LocaleMiddleware):
    """French unless the reader chose another language with the language switch.

    Django's own middleware follows the browser's Accept-Language; the network's
    portal is French first, so only the switch's cookie changes the language.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        available = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class ReplicaRoutingMiddleware:
    """Decide, per request, whether reader pages may read from the replica (``portal.routers``).

    The primary serves the admin, the API, every request that is not a plain read,
    and a client's requests for ``READ_YOUR_WRITES_SECONDS`` after its last write
    (a short cookie), so a reader sees their own reservation at once.
    """

    COOKIE = "primary_until"
    PRIMARY_PATHS = ("/admin/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        token = use_primary(writes or request.path.startswith(self.PRIMARY_PATHS) or self._recently_wrote(request))
        try:
            response = self.get_response(request)
        finally:
            reset_primary(token)
        if writes:
            seconds = settings.READ_YOUR_WRITES_SECONDS
            response.set_cookie(self.COOKIE, str(int(time.time()) + seconds), max_age=seconds, httponly=True,
                                samesite="Lax", secure=request.is_secure())
        return response

    def _recently_wrote(self, request) -> bool:
        try:
            return int(request.COOKIES.get(self.COOKIE, "0")) > time.time()
        except ValueError:
            return False
