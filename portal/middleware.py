import time

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

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
            response.set_cookie(
                self.COOKIE,
                str(int(time.time()) + seconds),
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response

    def _recently_wrote(self, request) -> bool:
        try:
            return int(request.COOKIES.get(self.COOKIE, "0")) > time.time()
        except ValueError:
            return False


class _CountingStream:
    """Counts what the form parser reads of a request body."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def read(self, *args):
        data = self.stream.read(*args)
        self.count += len(data)
        return data

    def readline(self, *args):
        data = self.stream.readline(*args)
        self.count += len(data)
        return data

    def __getattr__(self, name):  # close() and the rest: the stream's own
        return getattr(self.stream, name)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseBrokenInputMiddleware:
    """400 on every page, admin included, for a NUL byte in the path, the query string or a form field, and for a
    form body cut off before its declared length.

    No database stores a NUL in text (PostgreSQL refuses it), so such a value
    could only end in a server error further down; a cut-off form is half a
    file. Both are refused before any view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            return self.refuse(request, _("Caractère nul (octet zéro) dans l'adresse : requête refusée."))
        if request.method == "POST" and request.content_type in FORM_TYPES:
            declared = request.META.get("CONTENT_LENGTH") or ""
            counter = request._stream = _CountingStream(request._stream)
            fields = list(request.POST.lists())
            if (
                declared.isascii()
                and declared.isdigit()
                and counter.count < int(declared)
                and not getattr(request, "upload_too_large", False)
            ):
                return self.refuse(
                    request, _("Envoi incomplet (connexion coupée ?) : rien n'a été enregistré, recommencez.")
                )
            names = [upload.name or "" for upload in request.FILES.values()]
            if any("\x00" in key + "".join(values) for key, values in fields) or any("\x00" in n for n in names):
                return self.refuse(request, _("Caractère nul dans un champ du formulaire : envoi refusé."))
        return self.get_response(request)

    @staticmethod
    def refuse(request, message):
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "bad_request", "message": str(message)}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
