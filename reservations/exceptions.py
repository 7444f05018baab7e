from django.utils.translation import gettext_lazy as _

from catalogue.exceptions import InsufficientStock


class ReservationError(Exception):
    """A reservation that cannot be made or changed; ``message`` is for the user."""

    message = _("Réservation impossible.")

    def __str__(self):
        return str(self.message)


#: What a reservation workflow may refuse with, each carrying a ``message`` for the user.
REFUSALS = (ReservationError, InsufficientStock)


class ShopNotTakingReservations(ReservationError):
    message = _("Cette librairie ne prend pas de réservation en ligne.")

    def __init__(self, *, shop):
        self.shop = shop
        super().__init__(shop.pk)


class NotCollectable(ReservationError):
    message = _(
        "Ce produit (livre numérique, produit qui n'est pas un livre) n'est pas proposé en retrait en librairie."
    )

    def __init__(self, *, book):
        self.book = book
        super().__init__(book.pk)


class InvalidQuantity(ReservationError):
    def __init__(self, *, requested: int, maximum: int):
        self.requested = requested
        self.maximum = maximum
        super().__init__(requested, maximum)

    @property
    def message(self):
        return _("Vous pouvez réserver de 1 à %(maximum)s exemplaires.") % {"maximum": self.maximum}


class ContactRequired(ReservationError):
    message = _("Indiquez l'e-mail ou le téléphone du lecteur.")


class TooManyActiveReservations(ReservationError):
    def __init__(self, *, email: str, limit: int, phone: str = ""):
        self.email = email
        self.phone = phone
        self.limit = limit
        super().__init__(email or phone, limit)

    @property
    def message(self):
        if not self.email:
            return _(
                "Ce numéro de téléphone a déjà %(limit)s réservations en cours : qu'elles soient retirées ou "
                "annulées avant d'en faire une nouvelle."
            ) % {"limit": self.limit}
        return _(
            "Vous avez déjà %(limit)s réservations en cours avec cette adresse e-mail : retirez-les ou "
            "annulez-en une avant d'en faire une nouvelle."
        ) % {"limit": self.limit}


class RateLimited(ReservationError):
    def __init__(self, *, client: str, retry_after: int):
        self.client = client
        self.retry_after = retry_after
        super().__init__(client, retry_after)

    @property
    def message(self):
        minutes = max(1, round(self.retry_after / 60))
        return _("Trop de réservations envoyées depuis cette connexion. Réessayez dans %(minutes)s minutes.") % {
            "minutes": minutes
        }


class StaffRateLimited(ReservationError):
    def __init__(self, *, limit: int, retry_after: int):
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(limit, retry_after)

    @property
    def message(self):
        minutes = max(1, round(self.retry_after / 60))
        return _(
            "Vous avez fait %(limit)s réservations pour des clients chez des confrères en peu de temps : "
            "réessayez dans %(minutes)s minutes, ou appelez la librairie."
        ) % {"limit": self.limit, "minutes": minutes}


class ColleagueLineLimit(ReservationError):
    def __init__(self, *, limit: int, held: int):
        self.limit = limit
        self.held = held
        super().__init__(limit, held)

    @property
    def message(self):
        return _(
            "Votre librairie a déjà %(held)s exemplaire(s) réservé(s) sur ce titre chez ce confrère, et "
            "%(limit)s au plus peuvent l'être à la fois pour vos clients : appelez la librairie pour davantage."
        ) % {"held": self.held, "limit": self.limit}


class FormAlreadyUsed(ReservationError):
    message = _("Ce formulaire a déjà servi pour une autre réservation : rechargez la page et envoyez-le de nouveau.")


class InvalidTransition(ReservationError):
    def __init__(self, *, reservation, to_status: str):
        self.reservation = reservation
        self.from_status = reservation.status
        self.to_status = to_status
        super().__init__(reservation.reference, self.from_status, to_status)

    @property
    def message(self):
        from .models import Reservation

        return _("La réservation %(reference)s est « %(status)s » : elle ne peut plus passer à « %(target)s ».") % {
            "reference": self.reservation.reference,
            "status": Reservation.Status(self.from_status).label,
            "target": Reservation.Status(self.to_status).label,
        }


class ReasonRequired(ReservationError):
    message = _("Indiquez le motif de l'annulation.")


class AlreadyAtShop(ReservationError):
    message = _("La réservation est déjà dans cette librairie : choisissez une autre librairie.")

    def __init__(self, *, reservation, shop):
        self.reservation = reservation
        self.shop = shop
        super().__init__(reservation.reference, shop.pk)


class ReservationsPaused(ReservationError):
    """New reservations are paused at this shop or across the network (``ReservationPause``)."""

    def __init__(self, *, pause, shop):
        self.pause = pause
        self.shop = shop
        super().__init__(pause.pk, shop.pk)

    @property
    def message(self):
        from django.utils import formats, timezone

        values = {"shop": self.shop.name, "message": self.pause.message}
        if self.pause.ends_at:
            values["date"] = formats.date_format(timezone.localtime(self.pause.ends_at), "j F Y")
            if self.pause.shop_id is None:
                text = _("Les réservations sont suspendues sur tout le réseau jusqu'au %(date)s : %(message)s")
            else:
                text = _("%(shop)s ne prend pas de nouvelle réservation jusqu'au %(date)s : %(message)s")
        elif self.pause.shop_id is None:
            text = _("Les réservations sont suspendues sur tout le réseau : %(message)s")
        else:
            text = _("%(shop)s ne prend pas de nouvelle réservation pour le moment : %(message)s")
        return text % values
