"""The point-of-sale API: plain JSON views authenticated by a shop's token."""

import functools

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bookshops.models import Shop
from catalogue.exceptions import StockImportRefused
from catalogue.models import StockImport
from catalogue.stock.snapshots import stock_import

from .auth import WWW_AUTHENTICATE, authenticate
from .openapi import openapi_document
from .passculture import BadParameter, parse_after, parse_limit, parse_modified_since, passculture_stock_page
from .payloads import FIRST_JSON_LINE, PayloadError, stock_file_from_body

TRUE, FALSE = {"true", "1", "yes", "oui"}, {"false", "0", "no", "non", ""}


def error(status: int, code: str, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": code, "message": str(message)}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def api_view(*methods: str, authenticated: bool = True):
    """Check the method, then the token (set as ``request.api_token``), with JSON errors."""

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error(
                    405, "method_not_allowed",
                    _("Méthode %(method)s non autorisée ici.") % {"method": request.method},
                    Allow=", ".join(methods),
                )
            if authenticated:
                request.api_token = authenticate(request)
                if request.api_token is None:
                    return error(
                        401, "unauthorized",
                        _("Jeton d'API manquant, invalide ou révoqué : envoyez « Authorization: Bearer <jeton> »."),
                        WWW_Authenticate=WWW_AUTHENTICATE,
                    )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def forbidden_for(token) -> JsonResponse:
    return error(403, "forbidden", _("Ce jeton appartient à une autre librairie (%(shop)s).") % {"shop": token.shop.slug})


def read_body(request) -> bytes:
    """The request body, refusing more than ``STOCK_FILE_MAX_BYTES`` before reading it all."""
    limit = settings.STOCK_FILE_MAX_BYTES
    too_big = PayloadError(
        413, "payload_too_large",
        _("Corps de requête trop gros (%(limit)s octets au plus) : envoyez un fichier plus petit.") % {"limit": limit},
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_big
    # ``request.read`` rather than ``request.body``: our own limit, not DATA_UPLOAD_MAX_MEMORY_SIZE.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def import_payload(record: StockImport, *, from_json: bool) -> dict:
    problems = []
    for problem in record.problems:
        problem = dict(problem)
        if from_json and isinstance(problem.get("line"), int):
            problem["index"] = problem["line"] - FIRST_JSON_LINE
        problems.append(problem)
    return {
        "import_id": record.pk,
        "status": record.status,
        "message": record.message,
        "counts": {
            "rows_read": record.rows_read,
            "created": record.created_count,
            "updated": record.updated_count,
            "unchanged": record.unchanged_count,
            "zeroed": record.zeroed_count,
            "rejected": record.rejected_count,
            "books_created": record.books_created_count,
        },
        "errors": [p for p in problems if p.get("level") == "error"],
        "warnings": [p for p in problems if p.get("level") != "error"],
    }


@api_view("PUT", "PATCH")
def shop_stock(request, slug):
    """PUT: replace the shop's stock with a snapshot; PATCH: change only the lines sent."""
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        return error(404, "not_found", _("Librairie inconnue : %(slug)s.") % {"slug": slug})
    if request.api_token.shop_id != shop.pk:
        return forbidden_for(request.api_token)
    force = request.GET.get("force", "").lower()
    if force not in TRUE | FALSE:
        return error(400, "bad_parameter", _("force doit valoir true ou false."))
    try:
        body = read_body(request)
        data, from_json = stock_file_from_body(body, request.content_type or "")
    except PayloadError as exc:
        return error(exc.status, exc.code, exc.message)
    partial = request.method == "PATCH"
    try:
        record = stock_import(
            shop=shop,
            data=data,
            filename=f"api-{request.method.lower()}-{request.api_token.prefix}.csv",
            channel=StockImport.Channel.API,
            force=force in TRUE,
            partial=partial,
        )
    except StockImportRefused as refused:
        return JsonResponse(import_payload(refused.stock_import, from_json=from_json), status=422)
    return JsonResponse(import_payload(record, from_json=from_json))


@api_view("GET")
def passculture_stocks(request, siret):
    """pass Culture's supplier API: the shop's stock by EAN-13, page after page."""
    shops = Shop.objects.active().filter(siret=siret)
    shop = shops.filter(pk=request.api_token.shop_id).first()
    if shop is None:
        if shops.exists():
            return forbidden_for(request.api_token)
        return error(404, "not_found", _("Aucune librairie membre n'a ce SIRET."))
    try:
        page = passculture_stock_page(
            shop=shop,
            limit=parse_limit(request.GET.get("limit")),
            after=parse_after(request.GET.get("after")),
            modified_since=parse_modified_since(request.GET.get("modifiedSince")),
        )
    except BadParameter as exc:
        return error(400, "bad_parameter", str(exc))
    return JsonResponse(page)


@api_view("GET", authenticated=False)
def openapi(request):
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1")))


@csrf_exempt
def unknown_endpoint(request):
    return error(404, "not_found", _("Adresse inconnue dans l'API : voir /api/v1/openapi.json."))
