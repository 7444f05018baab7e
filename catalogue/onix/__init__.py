"""ONIX for Books: the reader (``reader``, ``xml``), the fields it reads and writes (``books``,
``contributors``, ``subjects``) and the import workflow (``imports``)."""

from .books import html_to_text, parse_onix_date
from .imports import ONIX_CHUNK, OnixImportReport, books_import_onix
from .reader import (
    OnixDeletion,
    OnixFileError,
    OnixHeader,
    OnixProduct,
    OnixRecord,
    ProductProblem,
    iter_onix,
    iter_records,
    parse_product,
)
from .subjects import clil_names, thema_names

__all__ = [
    "ONIX_CHUNK",
    "OnixDeletion",
    "OnixFileError",
    "OnixHeader",
    "OnixImportReport",
    "OnixProduct",
    "OnixRecord",
    "ProductProblem",
    "books_import_onix",
    "clil_names",
    "html_to_text",
    "iter_onix",
    "iter_records",
    "parse_onix_date",
    "parse_product",
    "thema_names",
]
