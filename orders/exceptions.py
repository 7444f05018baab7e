from django.utils.translation import gettext_lazy as _

from reservations.exceptions import ReservationError


class OrderError(ReservationError):
    """An order or alert that cannot be made or changed; ``message`` is for the reader or the bookseller."""

    message = _("Commande impossible.")


class OrderNotPossible(OrderError):
    def __init__(self, *, message):
        self.message = message
        super().__init__(str(message))


class TooManyOrders(OrderError):
    def __init__(self, *, limit: int):
        self.limit = limit
        super().__init__(limit)

    @property
    def message(self):
        return _(
            "Vous avez déjà %(limit)s commandes en cours avec cette adresse e-mail : attendez qu'elles arrivent "
            "ou annulez-en une."
        ) % {"limit": self.limit}


class AlreadyOrdered(OrderError):
    message = _("Vous avez déjà une commande en cours pour ce livre : le lien de suivi est dans vos e-mails.")


class InvalidOrderTransition(OrderError):
    def __init__(self, *, order, to_status: str):
        self.order, self.from_status, self.to_status = order, order.status, to_status
        super().__init__(order.reference, self.from_status, to_status)

    @property
    def message(self):
        from .models import Order

        return _("La commande %(reference)s est « %(status)s » : elle ne peut plus passer à « %(target)s ».") % {
            "reference": self.order.reference,
            "status": Order.Status(self.from_status).label,
            "target": Order.Status(self.to_status).label,
        }


class AlertNotPossible(OrderError):
    def __init__(self, *, message):
        self.message = message
        super().__init__(str(message))
