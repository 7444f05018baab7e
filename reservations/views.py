from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalogue.models import StockLine
from catalogue.stock.selectors import stock_line_to_reserve
from portal.clients import client_ip

from . import services
from .exceptions import REFUSALS, ReservationsPaused
from .forms import ReservationForm
from .models import Reservation
from .pauses import pause_for_shop


def _reader_language() -> str:
    language = (get_language() or "fr")[:2]
    return language if language in Reservation.Language.values else Reservation.Language.FR


def _reserve(request, line: StockLine):
    if not line.shop.takes_reservations:
        raise Http404("shop does not take reservations")
    form = ReservationForm(request.POST or None, available=line.available)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reservation = services.reservation_create(
                stock_line=line,
                quantity=data["quantity"],
                reader_name=data["reader_name"],
                reader_email=data["reader_email"],
                reader_phone=data["reader_phone"],
                note=data["note"],
                language=_reader_language(),
                form_token=data["form_token"],
                client=client_ip(request),
            )
        except REFUSALS as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Réservation %(reference)s enregistrée. Un e-mail de confirmation vous a été envoyé.")
                % {"reference": reservation.reference},
            )
            return redirect(reservation.get_reader_url())
    status = 400 if form.is_bound else 200
    pause = pause_for_shop(line.shop)
    context = {
        "form": form,
        "line": line,
        "retention_days": settings.RESERVATIONS_RETENTION_DAYS,
        "paused": ReservationsPaused(pause=pause, shop=line.shop).message if pause else "",
    }
    return render(request, "reservations/reservation_form.html", context, status=status)


def _lines():
    return StockLine.objects.select_related("shop", "book")


def reservation_new(request, line_id):
    line = stock_line_to_reserve(pk=line_id)
    if line is None:
        raise Http404("no such line in an active shop")
    return _reserve(request, line)


def reservation_new_for_book(request, shop_slug, isbn):
    line = get_object_or_404(_lines(), shop__slug=shop_slug, book__isbn=isbn, shop__is_active=True)
    return _reserve(request, line)


def _from_token(token) -> Reservation:
    try:
        reference = Reservation.reference_from_token(token)
    except signing.BadSignature:
        raise Http404("bad reservation link") from None
    return get_object_or_404(
        Reservation.objects.select_related("shop", "book", "redirected_to__shop").prefetch_related(
            "events__user", "shop__opening_hours"
        ),
        reference=reference,
    )


def reservation_detail(request, token):
    reservation = _from_token(token)
    return render(request, "reservations/reservation_detail.html", {"reservation": reservation, "token": token})


@require_http_methods(["GET", "POST"])
def reservation_cancel(request, token):
    reservation = _from_token(token)
    if request.method == "GET":  # the confirmation step: one tap must not cancel
        return render(request, "reservations/reservation_cancel.html", {"reservation": reservation, "token": token})
    try:
        services.reservation_cancel(reservation=reservation, reason=_("annulée par le lecteur"), by_reader=True)
    except REFUSALS as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Votre réservation est annulée."))
    return redirect(reservation.get_reader_url())
