"""Turning API request bodies into the stock file the import service reads.

A JSON body becomes the same CSV rows a shop's file would hold, so every
import rule and every line of the report stays the import's own.
"""

import csv
import io
import json

from django.utils.translation import gettext as _

#: JSON key → stock-file header (a header the importer already recognises).
JSON_COLUMNS = {"ref": "EAN", "quantity": "Qté", "price": "Prix TTC", "title": "Titre", "author": "Auteur",
                "publisher": "Éditeur"}
CSV_CONTENT_TYPES = {"text/csv", "application/csv", "text/plain", "text/tab-separated-values"}
JSON_CONTENT_TYPES = {"application/json"}
#: Line of the converted file holding ``stocks[0]`` (line 1 is the header).
FIRST_JSON_LINE = 2


class PayloadError(ValueError):
    """A body that cannot be a stock payload; ``status`` and ``code`` say how to answer."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def stock_file_from_body(body: bytes, content_type: str) -> tuple[bytes, bool]:
    """Return the stock file bytes for a request body, and whether it came from JSON."""
    kind = media_type(content_type)
    if kind in CSV_CONTENT_TYPES:
        return body, False
    if kind in JSON_CONTENT_TYPES or kind.endswith("+json"):
        return json_to_stock_file(body), True
    raise PayloadError(
        415, "unsupported_media_type",
        _("Type de contenu non pris en charge (%(type)s) : envoyez text/csv ou application/json.")
        % {"type": kind or "—"},
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # not a number, whatever Python thinks: the importer reports it
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        # One JSON item, one physical line: the report's line numbers map back to indexes.
        return " ".join(str(value).splitlines())
    raise ValueError


def json_to_stock_file(body: bytes) -> bytes:
    """Convert ``{"stocks": [{"ref", "quantity", "price"?, …}]}`` to a stock file."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(400, "malformed_json", _("JSON illisible : %(error)s") % {"error": exc}) from None
    stocks = payload.get("stocks") if isinstance(payload, dict) else None
    if not isinstance(stocks, list):
        raise PayloadError(400, "malformed_json", _("Le JSON doit être un objet avec une liste « stocks »."))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(JSON_COLUMNS.values())
    for index, item in enumerate(stocks):
        if not isinstance(item, dict):
            raise PayloadError(
                400, "malformed_json", _("stocks[%(index)s] doit être un objet.") % {"index": index}
            )
        try:
            cells = [_cell(item.get(key)) for key in JSON_COLUMNS]
        except ValueError:
            raise PayloadError(
                400, "malformed_json",
                _("stocks[%(index)s] : chaque valeur doit être un texte ou un nombre.") % {"index": index},
            ) from None
        if not any(cell.strip() for cell in cells):
            # The importer skips blank lines; an empty item must not vanish silently.
            raise PayloadError(400, "malformed_json", _("stocks[%(index)s] est vide.") % {"index": index})
        writer.writerow(cells)
    return out.getvalue().encode()
