"""Workflows that change shops: geocoding and the members' spreadsheet import."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from geopy.exc import GeopyError
from stdnum.exceptions import InvalidChecksum, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from portal.textfiles import TextFileError, decode, detect_delimiter, normalize_header

from .exceptions import GeocodingFailed, ShopFileError
from .gazetteer import department_of
from .geocoding import geocode
from .models import CoordinatesSource, Shop

#: Normalised header → field (headers compared without accents, case, spaces or punctuation).
SHOP_HEADER_ALIASES = {
    "slug": {"slug", "identifiant", "id"},
    "name": {"nom", "name", "librairie", "raisonsociale", "enseigne", "nomlibrairie"},
    "address": {"adresse", "address", "rue", "adressepostale", "voie"},
    "postcode": {"codepostal", "cp", "postcode", "zip", "zipcode", "postalcode"},
    "town": {"ville", "commune", "town", "city", "localite"},
    "department": {"departement", "dept", "dep", "department"},
    "phone": {"telephone", "tel", "phone", "tele"},
    "email": {"email", "mail", "courriel", "mel", "adressemail", "adresseemail"},
    "website": {"siteweb", "site", "siteinternet", "website", "url", "web"},
    "siret": {"siret", "numerosiret", "nsiret"},
    "latitude": {"latitude", "lat"},
    "longitude": {"longitude", "lon", "lng", "long"},
    "description": {"description", "presentation"},
}
_ALIASES = {alias: name for name, aliases in SHOP_HEADER_ALIASES.items() for alias in aliases}
_ADDRESS_FIELDS = ("address", "postcode", "town")
_TEXT_FIELDS = (
    "name",
    "address",
    "postcode",
    "town",
    "department",
    "phone",
    "email",
    "website",
    "siret",
    "description",
)


@dataclass
class ShopImportReport:
    encoding: str = ""
    delimiter: str = ""
    rows_read: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: [{"line", "value", "error", "level"}]: errors reject the row, warnings do not.
    problems: list[dict] = field(default_factory=list)

    @property
    def rejected_count(self):
        return sum(1 for p in self.problems if p["level"] == "error")


def shop_geocode(*, shop: Shop, save: bool = True) -> Shop:
    """Set the shop's coordinates from its address with the configured geocoder.

    Raises ``GeocodingFailed`` when the geocoder finds nothing or fails.
    """
    address = ", ".join(part for part in (shop.address, f"{shop.postcode} {shop.town}".strip()) if part)
    if not address:
        raise GeocodingFailed("", _("adresse vide"))
    try:
        found = geocode(f"{address}, France")
    except GeopyError as exc:
        raise GeocodingFailed(address, str(exc)) from exc
    if found is None:
        raise GeocodingFailed(address, _("adresse introuvable"))
    shop.latitude, shop.longitude = round(found.latitude, 6), round(found.longitude, 6)
    shop.coordinates_source = CoordinatesSource.GEOCODER
    if save:
        shop.save(update_fields=["latitude", "longitude", "coordinates_source"])
    return shop


def shops_import(*, data: bytes) -> ShopImportReport:
    """Create or update member shops from a spreadsheet, matched by slug or else by name.

    Rows with an error (bad SIRET, e-mail, postcode or coordinates) are
    reported by line and change nothing; the others are applied together.
    Raises ``ShopFileError`` when the file cannot be read at all.
    """
    if not data.strip():
        raise ShopFileError(_("Le fichier est vide."))
    try:
        text, encoding = decode(data)
    except TextFileError as exc:
        raise ShopFileError(str(exc)) from None
    text = text.lstrip("\ufeff")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ShopFileError(_("Ligne d'en-tête illisible : %(error)s") % {"error": exc}) from None
    columns = {}
    for index, name in enumerate(header):
        column = _ALIASES.get(normalize_header(name))
        if column and column not in columns:
            columns[column] = index
    if "name" not in columns:
        raise ShopFileError(
            _("Il faut au moins une colonne « Nom ». Colonnes trouvées : %(found)s.")
            % {"found": ", ".join(h.strip() for h in header if h.strip())[:300] or "—"}
        )
    report = ShopImportReport(encoding=encoding, delimiter=delimiter)
    with transaction.atomic():
        previous_end = reader.line_num
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            report.rows_read += 1
            values = {name: cells[i].strip() for name, i in columns.items() if i < len(cells)}
            _import_row(report, line, values)
    return report


def _problem(report, line, value, error, level="error"):
    report.problems.append({"line": line, "value": value, "error": str(error), "level": level})


def _siret_reason(exc: StdnumError) -> str:
    if isinstance(exc, InvalidLength):
        return _("il faut 14 chiffres")
    if isinstance(exc, InvalidChecksum):
        return _("clé de contrôle incorrecte")
    return _("ce ne sont pas des chiffres")


def _clean_row(values: dict) -> dict:
    """Checked field values from one row; raises ValueError with a reader-facing message."""
    cleaned = {name: values.get(name, "") for name in _TEXT_FIELDS if values.get(name)}
    if not values.get("name"):
        raise ValueError(_("nom manquant"))
    if cleaned.get("siret"):
        siret = re.sub(r"[\s.\u00a0-]", "", cleaned["siret"])
        try:
            cleaned["siret"] = stdnum_siret.validate(siret)
        except StdnumError as exc:
            raise ValueError(
                _("SIRET invalide (%(value)s) : %(reason)s") % {"value": values["siret"], "reason": _siret_reason(exc)}
            ) from None
    if cleaned.get("postcode"):
        postcode = cleaned["postcode"].replace(" ", "").zfill(5)
        if not re.fullmatch(r"\d{5}", postcode):
            raise ValueError(_("code postal invalide (%(value)s)") % {"value": values["postcode"]})
        cleaned["postcode"] = postcode
        cleaned.setdefault("department", department_of(postcode))
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            raise ValueError(_("e-mail invalide (%(value)s)") % {"value": values["email"]}) from None
    if cleaned.get("website"):
        website = cleaned["website"]
        if not re.match(r"^https?://", website, re.IGNORECASE):
            website = f"https://{website}"
        try:
            URLValidator()(website)
        except ValidationError:
            raise ValueError(_("site web invalide (%(value)s)") % {"value": values["website"]}) from None
        cleaned["website"] = website
    raw_lat, raw_lon = values.get("latitude", ""), values.get("longitude", "")
    if raw_lat or raw_lon:
        try:
            lat, lon = float(raw_lat.replace(",", ".")), float(raw_lon.replace(",", "."))
        except ValueError:
            raise ValueError(
                _("coordonnées illisibles (%(lat)s ; %(lon)s)") % {"lat": raw_lat, "lon": raw_lon}
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(_("coordonnées hors limites (%(lat)s ; %(lon)s)") % {"lat": raw_lat, "lon": raw_lon})
        cleaned["latitude"], cleaned["longitude"] = lat, lon
    for name, limit in (("name", 200), ("address", 300), ("town", 100), ("phone", 30)):
        if name in cleaned:
            cleaned[name] = cleaned[name][:limit]
    return cleaned


def _find_shop(values: dict) -> Shop | None:
    if values.get("slug"):
        shop = Shop.objects.filter(slug=slugify(values["slug"])).first()
        if shop:
            return shop
    return Shop.objects.filter(name__iexact=values.get("name", "")).first()


def _unique_slug(base: str) -> str:
    base = slugify(base)[:90] or "librairie"
    slug, n = base, 2
    while Shop.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _import_row(report: ShopImportReport, line: int, values: dict) -> None:
    try:
        cleaned = _clean_row(values)
    except ValueError as exc:
        _problem(report, line, values.get("name", ""), exc)
        return
    shop = _find_shop(values)
    created = shop is None
    if created:
        shop = Shop(slug=_unique_slug(values.get("slug") or cleaned["name"]))
    changed = [name for name, value in cleaned.items() if getattr(shop, name) != value]
    for name in changed:
        setattr(shop, name, cleaned[name])
    if "latitude" in cleaned:
        if "latitude" in changed or "longitude" in changed:
            shop.coordinates_source = CoordinatesSource.FILE
    elif shop.coordinates_source != CoordinatesSource.MANUAL and (
        not shop.has_coordinates or any(name in changed for name in _ADDRESS_FIELDS)
    ):
        try:
            shop_geocode(shop=shop, save=False)
            changed.append("latitude")
        except GeocodingFailed as exc:
            _problem(
                report,
                line,
                cleaned["name"],
                _("adresse non géocodée (%(reason)s) : coordonnées à saisir dans l'administration")
                % {"reason": exc.reason},
                level="warning",
            )
    if created or changed:
        shop.save()
    bucket = report.created if created else report.updated if changed else report.unchanged
    bucket.append(shop.slug)


# --- The booksellers' permission group ------------------------------------------

#: Name of the group every shop's staff belong to.
BOOKSELLERS_GROUP = "Libraires"

#: (app label, model, actions) the booksellers' group is given; models are named, not imported,
#: so this app does not depend on the apps above it.
BOOKSELLERS_PERMISSIONS = [
    ("catalogue", "stockimport", ("view", "add", "change")),
    ("catalogue", "stockline", ("view",)),
    ("bookshops", "shop", ("view", "change")),
    ("bookshops", "openinghours", ("view", "add", "change", "delete")),
    ("bookshops", "closure", ("view", "add", "change", "delete")),
    ("bookshops", "staffpick", ("view", "add", "change", "delete")),
    # The picks' book field is an autocomplete, which needs to see the books.
    ("catalogue", "book", ("view",)),
    # pass Culture: each shop's exchanges, and its bookings (changed by validating a countermark).
    ("passculture", "syncrun", ("view",)),
    ("passculture", "booking", ("view", "change")),
    # Orders through the shop (issue 16): worked from the counter, like reservations.
    ("orders", "order", ("view", "change")),
]


def booksellers_group_sync() -> Group:
    """Create the booksellers' group or reset its permissions: the list above, and every reservations model."""
    group, _created = Group.objects.get_or_create(name=BOOKSELLERS_GROUP)
    wanted = list(BOOKSELLERS_PERMISSIONS)
    if apps.is_installed("reservations"):
        for model in apps.get_app_config("reservations").get_models():
            wanted.append(("reservations", model._meta.model_name, ("view", "change")))
    permissions = []
    for app_label, model_name, actions in wanted:
        if not apps.is_installed(app_label):
            continue
        content_type = ContentType.objects.get_for_model(apps.get_model(app_label, model_name))
        for action in actions:
            permission, _created = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model_name}",
                defaults={"name": f"Can {action} {model_name}"},
            )
            permissions.append(permission)
    group.permissions.set(permissions)
    return group
