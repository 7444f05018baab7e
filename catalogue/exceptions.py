from django.utils.translation import gettext_lazy as _


class InvalidISBN(ValueError):
    """A value that is not a valid ISBN; ``reason`` says why."""

    MESSAGES = {
        "empty": _("ISBN manquant"),
        "format": _("ce n'est pas un ISBN (10 ou 13 chiffres attendus)"),
        "prefix": _("un ISBN-13 commence par 978 ou 979"),
        "checksum": _("clé de contrôle incorrecte"),
    }

    def __init__(self, value, reason):
        self.value = value
        self.reason = reason
        super().__init__(f"{value!r}: {reason}")

    @property
    def message(self):
        return self.MESSAGES[self.reason]


class StockImportRefused(Exception):
    """A stock file that was refused as a whole; the import record says why."""

    def __init__(self, stock_import):
        self.stock_import = stock_import
        super().__init__(stock_import.message)


class InsufficientStock(Exception):
    """Not enough free copies on the line for a hold; ``message`` is for the user."""

    message = _("Plus d'exemplaire disponible")

    def __init__(self, *, stock_line_id: int | None, requested: int):
        self.stock_line_id = stock_line_id
        self.requested = requested
        super().__init__(stock_line_id, requested)

    def __str__(self):
        return str(self.message)
