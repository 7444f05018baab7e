"""Turning API request bodies into the stock file the import service reads.

A JSON body becomes the same CSV rows a shop's file would hold, so every
import rule and every line of the report stays the import's own.
"""

import csv
import io
import tempfile
from typing import BinaryIO

import ijson
from django.utils.translation import gettext as _

#: JSON key → stock-file header (a header the importer already recognises).
JSON_COLUMNS = {
    "ref": "EAN",
    "quantity": "Qté",
    "price": "Prix TTC",
    "title": "Titre",
    "author": "Auteur",
    "publisher": "Éditeur",
}
CSV_CONTENT_TYPES = {"text/csv", "application/csv", "text/plain", "text/tab-separated-values"}
JSON_CONTENT_TYPES = {"application/json"}
#: Line of the converted file holding ``stocks[0]`` (line 1 is the header).
FIRST_JSON_LINE = 2
#: The format's own depth: the object, its list, an item. Other keys may nest a little more.
MAX_JSON_DEPTH = 16
#: A body or converted file stays in memory up to this size, then goes to a temporary file.
SPOOL_BYTES = 1024 * 1024


class PayloadError(ValueError):
    """A body that cannot be a stock payload; ``status`` and ``code`` say how to answer."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def stock_file_from_body(body: BinaryIO, content_type: str) -> tuple[BinaryIO, bool]:
    """Return the stock file for a request body (a file), and whether it came from JSON."""
    kind = media_type(content_type)
    if kind in CSV_CONTENT_TYPES:
        return body, False
    if kind in JSON_CONTENT_TYPES or kind.endswith("+json"):
        return json_to_stock_file(body), True
    raise PayloadError(
        415,
        "unsupported_media_type",
        _("Type de contenu non pris en charge (%(type)s) : envoyez text/csv ou application/json.")
        % {"type": kind or "—"},
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # not a number, whatever Python thinks: the importer reports it
        return "true" if value else "false"
    # One JSON item, one physical line: the report's line numbers map back to indexes.
    return " ".join(str(value).splitlines())


def _parser_error(exc: ijson.JSONError) -> str:
    """The parser's own words, first line only: its C backend gives bytes and an ASCII-art pointer."""
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail).strip().splitlines()[0] if str(detail).strip() else "?"


def spooled_file() -> tempfile.SpooledTemporaryFile:
    """A file in memory while small, on disk beyond ``SPOOL_BYTES``."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")


def json_to_stock_file(body: BinaryIO) -> BinaryIO:
    """Convert ``{"stocks": [{"ref", "quantity", "price"?, …}]}`` to a stock file, as a stream.

    The JSON is read event by event (ijson), never built whole: memory stays
    flat whatever the size, and nesting deeper than the format's is refused
    at once rather than recursed into.
    """
    out = spooled_file()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(JSON_COLUMNS.values())
    depth, top_key, key, index, item, found = 0, None, None, -1, None, False
    body.seek(0)
    try:
        for event, value in ijson.basic_parse(body, use_float=False):
            opening, closing = event in ("start_map", "start_array"), event in ("end_map", "end_array")
            if depth == 0 and event != "start_map":
                raise PayloadError(400, "malformed_json", _("Le JSON doit être un objet avec une liste « stocks »."))
            if depth == 1 and event == "map_key":
                top_key = value
            elif depth == 1 and top_key == "stocks" and not closing:
                if event != "start_array":
                    raise PayloadError(
                        400, "malformed_json", _("Le JSON doit être un objet avec une liste « stocks ».")
                    )
                found = True
            elif depth == 2 and top_key == "stocks" and not closing:
                index += 1
                if event != "start_map":
                    raise PayloadError(
                        400, "malformed_json", _("stocks[%(index)s] doit être un objet.") % {"index": index}
                    )
                item = {}
            elif depth == 3 and item is not None:
                if event == "map_key":
                    key = value
                elif opening:
                    raise PayloadError(
                        400,
                        "malformed_json",
                        _("stocks[%(index)s] : chaque valeur doit être un texte ou un nombre.") % {"index": index},
                    )
                elif event == "end_map":
                    cells = [_cell(item.get(name)) for name in JSON_COLUMNS]
                    if not any(cell.strip() for cell in cells):
                        # The importer skips blank lines; an empty item must not vanish silently.
                        raise PayloadError(400, "malformed_json", _("stocks[%(index)s] est vide.") % {"index": index})
                    writer.writerow(cells)
                    item = None
                else:
                    if isinstance(value, str) and "\x00" in value:
                        # A NUL would turn the converted file into "not a text file": name the value instead.
                        raise PayloadError(
                            400,
                            "malformed_json",
                            _("stocks[%(index)s].%(key)s contient un caractère nul (octet zéro).")
                            % {"index": index, "key": key},
                        )
                    item[key] = value
            if opening:
                depth += 1
                if depth > MAX_JSON_DEPTH:
                    raise PayloadError(
                        400,
                        "malformed_json",
                        _("JSON trop imbriqué (plus de %(depth)s niveaux) : ce n'est pas une liste de stocks.")
                        % {"depth": MAX_JSON_DEPTH},
                    )
            elif closing:
                depth -= 1
    except ijson.JSONError as exc:
        raise PayloadError(
            400, "malformed_json", _("JSON illisible : %(error)s") % {"error": _parser_error(exc)}
        ) from None
    if not found:
        raise PayloadError(400, "malformed_json", _("Le JSON doit être un objet avec une liste « stocks »."))
    text.detach()
    out.seek(0)
    return out
