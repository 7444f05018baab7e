import functools
from dataclasses import dataclass

from django.contrib import messages
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookshops.location import get_location
from bookshops.models import Shop
from catalogue.exceptions import InvalidISBN
from catalogue.isbn import hyphenate_isbn, normalize_isbn
from catalogue.models import Book
from portal.clients import client_ip
from reservations.exceptions import REFUSALS
from reservations.views import _reader_language

from . import services
from .forms import AlertForm, OrderForm
from .models import Order


@dataclass
class UnknownBook:
    """A valid ISBN the catalogue does not know: what the forms show until the reader submits."""

    isbn: str
    is_out_of_print = False
    is_unknown = True

    @property
    def isbn_display(self) -> str:
        return hyphenate_isbn(self.isbn)

    @property
    def title(self) -> str:
        return f"ISBN {self.isbn_display}"

    def get_absolute_url(self) -> str:
        return reverse("catalogue:search") + "?" + urlencode({"q": self.isbn})


def with_book(view):
    """Give ``view`` the book of the URL's ISBN, or an ``UnknownBook`` when the ISBN is valid but not catalogued.

    Another form of the ISBN (ISBN-10, hyphens) redirects to the ISBN-13; a value that is not an
    ISBN answers 400 with the reason. Nothing is written: the book is made when the reader submits.
    """

    @functools.wraps(view)
    def wrapper(request, isbn):
        try:
            isbn13 = normalize_isbn(isbn)
        except InvalidISBN as error:
            message = _("« %(value)s » n'est pas un ISBN valable : %(reason)s.") % {
                "value": isbn[:40],
                "reason": error.message,
            }
            return render(request, "orders/isbn_refused.html", {"message": message}, status=400)
        if isbn13 != isbn:
            return redirect(request.resolver_match.view_name, isbn=isbn13)
        book = Book.objects.filter(isbn=isbn13).first() or UnknownBook(isbn=isbn13)
        return view(request, book)

    return wrapper


def _known(book) -> Book | None:
    return None if isinstance(book, UnknownBook) else book


@with_book
def order_new(request, book):
    location = get_location(request)
    shops = services.shops_taking_orders(book=_known(book), location=location, limit=8)
    refusal = (
        services.order_refusal(book=_known(book), shop=shops[0])
        if shops
        else _("Aucune librairie ne prend de commande.")
    )
    form = OrderForm(request.POST or None, shops=shops, unknown_book=_known(book) is None)
    if request.method == "POST" and not refusal and form.is_valid():
        data = form.cleaned_data
        shop = next(shop for shop in shops if shop.pk == data["shop"])
        try:
            order = services.order_request(
                book=_known(book),
                isbn=book.isbn,
                title=data.get("book_title", ""),
                shop=shop,
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
            return redirect(order.get_reader_url())
    status = 400 if form.is_bound else 200
    context = {"form": form, "book": book, "shops": shops, "refusal": refusal, "location": location}
    return render(request, "orders/order_form.html", context, status=status)


def _order_from_reader_token(token: str) -> Order:
    try:
        reference = Order.reference_from_reader_token(token)
    except signing.BadSignature:
        raise Http404("bad link") from None
    return get_object_or_404(Order.objects.select_related("shop", "book"), reference=reference)


def order_detail(request, token):
    order = _order_from_reader_token(token)
    context = {"order": order, "token": token, "events": order.events.all()}
    return render(request, "orders/order_detail.html", context)


@require_POST
def order_cancel(request, token):
    order = _order_from_reader_token(token)
    try:
        services.order_cancel_by_reader(order=order)
    except REFUSALS as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Commande annulée."))
    return redirect(order.get_reader_url())


def order_confirm(request, token):
    """GET shows a button (mail scanners follow links); POST confirms the address."""
    if request.method == "POST":
        try:
            order = services.order_confirm_address(token=token)
        except (*REFUSALS, Order.DoesNotExist) as error:
            return render(request, "orders/link_refused.html", {"message": getattr(error, "message", "")}, status=400)
        messages.success(request, _("Merci : votre commande est transmise à la librairie."))
        return redirect(order.get_reader_url())
    return render(request, "orders/confirm.html", {"token": token, "action": "orders:confirm"})


@with_book
def alert_new(request, book):
    location = get_location(request)
    shops = list(Shop.objects.active().order_by("name")) if location is None else []
    form = AlertForm(request.POST or None, location=location, shops=shops, unknown_book=_known(book) is None)
    if request.method == "POST" and form.is_valid():
        where = form.cleaned_data["where"]
        shop = None
        if where.startswith("shop:"):
            shop = get_object_or_404(Shop.objects.active(), pk=int(where.removeprefix("shop:")))
        try:
            alert = services.alert_request(
                book=_known(book),
                isbn=book.isbn,
                title=form.cleaned_data.get("book_title", ""),
                reader_email=form.cleaned_data["reader_email"],
                language=_reader_language(),
                location=location if shop is None else None,
                shop=shop,
                client=client_ip(request),
            )
        except REFUSALS as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("C'est noté : confirmez votre alerte grâce au lien que nous venons de vous envoyer.")
            )
            return redirect(alert.book)
    status = 400 if form.is_bound else 200
    return render(request, "orders/alert_form.html", {"form": form, "book": book, "location": location}, status=status)


def alert_confirm(request, token):
    if request.method == "POST":
        try:
            alert = services.alert_confirm(token=token)
        except REFUSALS as error:
            return render(request, "orders/link_refused.html", {"message": error.message}, status=400)
        if alert.fulfilled_at:
            messages.success(request, _("Un exemplaire est déjà disponible : nous venons de vous écrire où."))
        else:
            messages.success(request, _("Alerte confirmée : nous vous écrirons dès qu'un exemplaire sera disponible."))
        return redirect(alert.book)
    return render(request, "orders/confirm.html", {"token": token, "action": "orders:alert_confirm"})


def alert_unsubscribe(request, token):
    if request.method == "POST":
        try:
            alert = services.alert_unsubscribe(token=token)
        except REFUSALS as error:
            return render(request, "orders/link_refused.html", {"message": error.message}, status=400)
        messages.success(request, _("Vous ne recevrez plus de message pour ce livre."))
        return redirect(alert.book)
    return render(request, "orders/unsubscribe.html", {"token": token})
