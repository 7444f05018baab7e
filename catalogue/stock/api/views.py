"""The point-of-sale API: plain JSON views authenticated by a shop's token."""

import functools
import re
from typing import BinaryIO

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from bookshops.models import Shop
from catalogue.models import StockImport
from catalogue.stock.snapshots import stock_import_create, stock_imports_fail_stale
from catalogue.stock.tasks import stock_import_start

from .auth import WWW_AUTHENTICATE, authenticate
from .openapi import openapi_document
from .payloads import FIRST_JSON_LINE, PayloadError, spooled_file, stock_file_from_body

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
                    405,
                    "method_not_allowed",
                    _("Méthode %(method)s non autorisée ici.") % {"method": request.method},
                    Allow=", ".join(methods),
                )
            if authenticated:
                request.api_token = authenticate(request)
                if request.api_token is None:
                    return error(
                        401,
                        "unauthorized",
                        _("Jeton d'API manquant, invalide ou révoqué : envoyez « Authorization: Bearer <jeton> »."),
                        WWW_Authenticate=WWW_AUTHENTICATE,
                    )
                if not request.api_token.shop.is_active:
                    return error(
                        403,
                        "shop_inactive",
                        _("La librairie %(shop)s n'est plus membre active du réseau : son jeton ne peut plus servir.")
                        % {"shop": request.api_token.shop.slug},
                    )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def forbidden_for(token) -> JsonResponse:
    return error(
        403, "forbidden", _("Ce jeton appartient à une autre librairie (%(shop)s).") % {"shop": token.shop.slug}
    )


#: Bytes read from the request at a time.
READ_CHUNK = 64 * 1024


def read_body(request) -> BinaryIO:
    """The request body as a file, checked against its declared length and ``STOCK_FILE_MAX_BYTES`` as it is read.

    A body shorter than its ``Content-Length`` (a cut connection) is refused
    rather than imported as a smaller stock. A chunked body (no length) is
    read to its end when the server decodes it for us (gunicorn says so with
    ``wsgi.input_terminated``); otherwise the client is asked for a length (411).
    """
    limit = settings.STOCK_FILE_MAX_BYTES
    too_big = PayloadError(
        413,
        "payload_too_large",
        _("Corps de requête trop gros (%(limit)s octets au plus) : envoyez un fichier plus petit.") % {"limit": limit},
    )
    terminated = bool(request.environ.get("wsgi.input_terminated"))
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    raw_length = request.META.get("CONTENT_LENGTH") or None
    if raw_length is None and not (chunked and terminated):
        raise PayloadError(
            411,
            "length_required",
            _(
                "Longueur du corps inconnue : envoyez l'en-tête Content-Length (ce serveur ne lit pas ici les corps "
                "« Transfer-Encoding: chunked »)."
            ),
        )
    declared = None
    if raw_length is not None:
        if not re.fullmatch(r"[0-9]{1,15}", raw_length):
            raise PayloadError(400, "bad_request", _("En-tête Content-Length invalide."))
        declared = int(raw_length)
        if declared > limit:
            raise too_big
    # The server's own stream when it ends where the body ends; Django's, bounded by the declared length, otherwise.
    stream = request.environ["wsgi.input"] if terminated else request
    body, received = spooled_file(), 0
    while True:
        wanted = READ_CHUNK if declared is None or terminated else min(READ_CHUNK, declared - received)
        if wanted <= 0:
            break
        chunk = stream.read(wanted)
        if not chunk:
            break
        received += len(chunk)
        if received > limit:
            raise too_big
        body.write(chunk)
        if declared is not None and received > declared:
            raise PayloadError(
                400,
                "body_too_long",
                _(
                    "Corps plus long que la longueur annoncée (Content-Length : %(declared)s octets) : rien n'a été "
                    "importé."
                )
                % {"declared": declared},
            )
    if declared is not None and received < declared:
        raise PayloadError(
            400,
            "incomplete_body",
            _(
                "Corps incomplet : %(received)s octets reçus sur les %(declared)s annoncés (connexion coupée ?). "
                "Rien n'a été importé : renvoyez le fichier."
            )
            % {"received": received, "declared": declared},
        )
    body.seek(0)
    return body


def import_payload(record: StockImport, *, from_json: bool | None = None) -> dict:
    """An import's status, counts and (first) problems: small whatever the file."""
    if from_json is None:  # the API names the file it converted from JSON so
        from_json = record.original_filename.endswith(".json.csv")
    index = record.index_progress()  # first: it may move the phase to done
    problems = []
    for problem in record.problems:
        problem = dict(problem)
        if from_json and isinstance(problem.get("line"), int):
            problem["index"] = problem["line"] - FIRST_JSON_LINE
        problems.append(problem)
    return {
        "import_id": record.pk,
        "status": record.status,
        "phase": record.phase,
        "message": record.message,
        "status_url": import_status_url(record),
        "received_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "duration_ms": record.duration_ms,
        "stock_version": record.stock_version,
        "progress": {"rows_read": record.rows_read, "lines_applied": record.lines_applied, **index},
        "problem_counts": record.problem_counts,
        "problems_left_out": record.problems_left_out,
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
    record = stock_import_create(
        shop=shop,
        file=data,
        filename=f"api-{request.method.lower()}-{request.api_token.prefix}.{'json.csv' if from_json else 'csv'}",
        channel=StockImport.Channel.API,
        force=force in TRUE,
        partial=request.method == "PATCH",
    )
    return import_response(stock_import_start(stock_import=record))


def import_response(record: StockImport) -> JsonResponse:
    """200 applied, 422 refused (the file), 500 failed (the portal), 202 with where to look while it runs."""
    if not record.finished:
        return JsonResponse(
            {"import_id": record.pk, "status": record.status, "status_url": import_status_url(record)}, status=202
        )
    status = {StockImport.Status.APPLIED: 200, StockImport.Status.REFUSED: 422}.get(record.status, 500)
    return JsonResponse(import_payload(record), status=status)


def import_status_url(record: StockImport) -> str:
    return reverse("api:shop-import", kwargs={"slug": record.shop.slug, "import_id": record.pk})


@api_view("GET")
def shop_import(request, slug, import_id):
    """An import's status and report, for the token of the shop that sent it."""
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        return error(404, "not_found", _("Librairie inconnue : %(slug)s.") % {"slug": slug})
    if request.api_token.shop_id != shop.pk:
        return forbidden_for(request.api_token)
    stock_imports_fail_stale()
    record = StockImport.objects.filter(shop=shop, pk=import_id).select_related("shop").first()
    if record is None:
        return error(404, "not_found", _("Import inconnu pour cette librairie : %(id)s.") % {"id": import_id})
    return JsonResponse(import_payload(record))


@api_view("GET", authenticated=False)
def openapi(request):
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1")))


@csrf_exempt
def unknown_endpoint(request):
    return error(404, "not_found", _("Adresse inconnue dans l'API : voir /api/v1/openapi.json."))
