import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import FieldDoesNotExist
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from portal.tasks import Outbox

from .isbn import hyphenate_isbn
from .stock.availability import StockLineQuerySet


class Subject(models.Model):
    """A subject from a classification scheme (CLIL, Thema) or a free genre."""

    class Scheme(models.TextChoices):
        CLIL = "clil", "CLIL"
        THEMA = "thema", "Thema"
        KEYWORD = "keyword", _("mot-clé")

    scheme = models.CharField(_("classification"), max_length=10, choices=Scheme.choices)
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("nom"), max_length=200)
    #: English name where the scheme has one (Thema); the French ``name`` otherwise.
    name_en = models.CharField(_("nom en anglais"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("genre")
        verbose_name_plural = _("genres")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="subject_unique_code")]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language (English when there is one and English is active)."""
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class Book(models.Model):
    """A book of the shared catalogue, one per ISBN-13."""

    class Availability(models.TextChoices):
        AVAILABLE = "available", _("disponible")
        OUT_OF_PRINT = "out_of_print", _("épuisé chez l'éditeur")
        FORTHCOMING = "forthcoming", _("à paraître")
        TEMPORARILY_UNAVAILABLE = "unavailable", _("momentanément indisponible")
        UNKNOWN = "unknown", _("inconnue")

    class Source(models.TextChoices):
        ONIX = "onix", _("notice ONIX")
        SHOP_FILE = "shop_file", _("fichier de stock d'une librairie")
        STAFF = "staff", _("saisie manuelle")
        #: A reader ordering or watching a book the catalogue did not know: the weakest of all.
        READER = "reader", _("indiqué par un lecteur")

    class Form(models.TextChoices):
        PRINT = "print", _("livre imprimé")
        AUDIO = "audio", _("livre audio")
        EBOOK = "ebook", _("livre numérique")
        OTHER = "other", _("autre produit")

    #: Sources that may overwrite a field, weakest first (see ``may_set``).
    SOURCE_RANK = {Source.READER: -1, Source.SHOP_FILE: 0, Source.ONIX: 1, Source.STAFF: 2}

    isbn = models.CharField(_("ISBN"), max_length=13, unique=True)
    title = models.CharField(_("titre"), max_length=500)
    subtitle = models.CharField(_("sous-titre"), max_length=500, blank=True)
    publisher = models.CharField(_("éditeur"), max_length=200, blank=True)
    collection = models.CharField(_("collection"), max_length=200, blank=True)
    published_on = models.DateField(_("date de parution"), null=True, blank=True)
    page_count = models.PositiveIntegerField(_("nombre de pages"), null=True, blank=True)
    #: ISO 639-2/B code as ONIX sends it ("fre", "eng").
    language = models.CharField(_("langue"), max_length=3, blank=True)
    summary = models.TextField(_("résumé"), blank=True)
    cover_url = models.URLField(_("couverture"), blank=True, max_length=500)
    availability = models.CharField(
        _("disponibilité chez l'éditeur"), max_length=20, choices=Availability.choices, default=Availability.UNKNOWN
    )
    subjects = models.ManyToManyField(Subject, verbose_name=_("genres"), related_name="books", blank=True)
    product_form = models.CharField(_("type de produit"), max_length=10, choices=Form.choices, default=Form.PRINT)
    #: ONIX ProductForm code as sent (list 150, or list 7 in ONIX 2.1): "BC", "AC", "EA", "DG"…
    product_form_code = models.CharField(_("code ONIX du format"), max_length=4, blank=True)
    #: Who set each field: {"title": {"source": "shop_file", "shop": 3, "shop_name": "…", "file": "…",
    #: "at": "2026-12-02T06:40:00+00:00", "copies": 2}, …}; older rows hold the bare source ("onix").
    provenance = models.JSONField(_("provenance des données"), default=dict, blank=True)
    #: Hash of the last ONIX record applied to this book (see ``catalogue.onix.reader.record_digest``): a
    #: re-sent record with the same hash is skipped whole. "" when no ONIX record stands (never sent, withdrawn).
    onix_digest = models.CharField(
        _("empreinte de la notice ONIX"), max_length=32, blank=True, default="", db_default="", db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("livre")
        verbose_name_plural = _("livres")
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("catalogue:book", kwargs={"isbn": self.isbn})

    @property
    def isbn_display(self):
        return hyphenate_isbn(self.isbn)

    @property
    def is_out_of_print(self):
        return self.availability == self.Availability.OUT_OF_PRINT

    @classmethod
    def announced_q(cls, prefix: str = "", today=None) -> Q:
        """Books announced at the publisher and not out yet: « à paraître », with no publication date or a later one.

        A feed that never updates the status does not hold a book back past its publication date.
        """
        today = today or timezone.localdate()
        return Q(**{f"{prefix}availability": cls.Availability.FORTHCOMING}) & (
            Q(**{f"{prefix}published_on__isnull": True}) | Q(**{f"{prefix}published_on__gt": today})
        )

    @property
    def is_collectable(self) -> bool:
        """Offered for click-and-collect: a print book or audio on a physical carrier, not an e-book or goods."""
        if self.product_form == self.Form.PRINT:
            return True
        return self.product_form == self.Form.AUDIO and self.product_form_code not in DOWNLOADABLE_AUDIO

    def contributors_with_role(self, role):
        return [c for c in self.contributors.all() if c.role == role]

    @property
    def authors(self):
        return self.contributors_with_role(Contributor.Role.AUTHOR)

    @property
    def translators(self):
        return self.contributors_with_role(Contributor.Role.TRANSLATOR)

    def credits(self) -> list[tuple[str, list[str]]]:
        """Every contributor but authors and translators, grouped by role: [("Illustrations de", [names]), …]."""
        groups = {}
        for contributor in self.contributors.all():
            if contributor.role not in (Contributor.Role.AUTHOR, Contributor.Role.TRANSLATOR):
                groups.setdefault(contributor.role, []).append(contributor.name)
        return [(CREDIT_LABELS[role], groups[role]) for role in Contributor.Role.values if role in groups]

    def byline(self) -> tuple[str, list[str]]:
        """The names to show under the title in results: the authors, else the editors, else anyone credited."""
        if authors := self.authors:
            return "", [c.name for c in authors]
        if editors := self.contributors_with_role(Contributor.Role.EDITOR):
            return str(CREDIT_LABELS[Contributor.Role.EDITOR]), [c.name for c in editors]
        credits = self.credits()
        return (str(credits[0][0]), credits[0][1]) if credits else ("", [])

    def other_forms(self):
        """The same work in other forms (its e-book, audio book, other editions) that the catalogue holds."""
        linked = set(self.form_links.values_list("isbn", flat=True))
        linked |= set(FormLink.objects.filter(isbn=self.isbn).values_list("book__isbn", flat=True))
        linked.discard(self.isbn)
        return Book.objects.filter(isbn__in=linked).order_by("product_form", "title") if linked else Book.objects.none()

    # --- provenance ------------------------------------------------------

    def provenance_of(self, field: str) -> dict:
        """Who set ``field``, as a dict (older rows stored the bare source name)."""
        entry = self.provenance.get(field)
        if isinstance(entry, str):
            return {"source": entry}
        return entry or {}

    def may_set(self, field: str, source: str, *, copies: int | None = None) -> bool:
        """Whether ``source`` may write ``field``: the one precedence rule of the catalogue.

        Staff edits beat ONIX, ONIX beats shop files, and an empty field takes any
        value. Between two shops' files the one reporting more copies of the book
        wins; equal copies, the newer file wins (so a shop correcting its own
        title is heard). A withdrawn ONIX record (deletion notice) yields to all.
        """
        current = self.provenance_of(field)
        if not current or current.get("withdrawn") or getattr(self, field, None) in ("", None):
            return True
        rank, current_rank = self.SOURCE_RANK[source], self.SOURCE_RANK.get(current.get("source"), 0)
        if rank != current_rank or source != self.Source.SHOP_FILE:
            return rank >= current_rank
        return (copies or 0) >= (current.get("copies") or 0)

    def apply_metadata(self, values: dict, source: str, *, origin: dict | None = None) -> list[str]:
        """Set fields from ``source`` where ``may_set`` allows, recording ``origin`` (shop, file, date…).

        Returns the names of the fields that changed.
        """
        changed = []
        entry = {"source": str(source), **(origin or {})}
        for field, value in values.items():
            if value in (None, "") or not self.may_set(field, source, copies=entry.get("copies")):
                continue
            if getattr(self, field) != value:
                setattr(self, field, value)
                changed.append(field)
                self.provenance_record(field, entry, changed=True)
            else:
                self.provenance_record(field, entry, changed=False)
        return changed

    def provenance_record(self, field: str, entry: dict, *, changed: bool) -> None:
        """Note who set ``field``; an unchanged value keeps its first giver unless another kind of source confirms it."""
        current = self.provenance.get(field)
        if (
            changed
            or not isinstance(current, dict)
            or current.get("source") != entry["source"]
            or current.get("withdrawn")
        ):
            self.provenance[field] = entry

    def provenance_lines(self) -> list[str]:
        """Readable provenance, one line per field: « Titre : fichier de stock de La Plume d'Oie, 2 décembre »."""
        lines = []
        for field, entry in sorted(self.provenance.items()):
            entry = entry if isinstance(entry, dict) else {"source": entry}
            try:
                model_field = self._meta.get_field(field)
            except FieldDoesNotExist:
                label = field
            else:  # "contributors" is a reverse relation: named after its model
                label = (
                    getattr(model_field, "verbose_name", None) or model_field.related_model._meta.verbose_name_plural
                )
            lines.append(f"{str(label).capitalize()} : {provenance_phrase(entry)}")
        return lines


#: ONIX ProductForm codes of audio sent as files, not on a carrier a shop can hand over.
DOWNLOADABLE_AUDIO = {"AJ", "AN", "AO"}


def provenance_phrase(entry: dict) -> str:
    """« fichier de stock de La Plume d'Oie (stock.csv), 2 décembre 2026 » from one provenance entry."""
    source = entry.get("source", "")
    if source == Book.Source.SHOP_FILE and entry.get("shop_name"):
        text = _("fichier de stock de %(shop)s") % {"shop": entry["shop_name"]}
    elif source == Book.Source.ONIX and entry.get("sender"):
        text = _("notice ONIX de %(sender)s") % {"sender": entry["sender"]}
    elif source == Book.Source.STAFF and entry.get("user"):
        text = _("saisie manuelle par %(user)s") % {"user": entry["user"]}
    else:
        text = str(Book.Source(source).label) if source in Book.Source.values else source
    if entry.get("file"):
        text += f" ({entry['file']})"
    if entry.get("copies") is not None and source == Book.Source.SHOP_FILE:
        text += ", " + _("%(n)s ex.") % {"n": entry["copies"]}
    when = parse_datetime(entry["at"]) if entry.get("at") else None
    if when is not None:
        text += ", " + formats.date_format(when, "j F Y")
    if entry.get("withdrawn"):
        text += " — " + _("retirée par une notice de suppression")
    return text


class Contributor(models.Model):
    """A person's part in a book, in the order the publisher gives."""

    class Role(models.TextChoices):
        AUTHOR = "author", _("auteur")
        TRANSLATOR = "translator", _("traducteur")
        ILLUSTRATOR = "illustrator", _("illustrateur")
        PHOTOGRAPHER = "photographer", _("photographe")
        EDITOR = "editor", _("directeur de publication")
        PREFACE = "preface", _("préfacier")
        AFTERWORD = "afterword", _("postfacier")
        ADAPTER = "adapter", _("adaptateur")
        NARRATOR = "narrator", _("lecteur (livre audio)")
        OTHER = "other", _("autre")

    book = models.ForeignKey(Book, verbose_name=_("livre"), on_delete=models.CASCADE, related_name="contributors")
    name = models.CharField(_("nom"), max_length=300)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.AUTHOR)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("contributeur")
        verbose_name_plural = _("contributeurs")
        ordering = ["position", "pk"]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


#: How the book page introduces each role's names.
CREDIT_LABELS = {
    Contributor.Role.TRANSLATOR: pgettext_lazy("credit", "Traduit par"),
    Contributor.Role.ILLUSTRATOR: pgettext_lazy("credit", "Illustrations de"),
    Contributor.Role.PHOTOGRAPHER: pgettext_lazy("credit", "Photographies de"),
    Contributor.Role.EDITOR: pgettext_lazy("credit", "Sous la direction de"),
    Contributor.Role.PREFACE: pgettext_lazy("credit", "Préface de"),
    Contributor.Role.AFTERWORD: pgettext_lazy("credit", "Postface de"),
    Contributor.Role.ADAPTER: pgettext_lazy("credit", "Adaptation de"),
    Contributor.Role.NARRATOR: pgettext_lazy("credit", "Lu par"),
    Contributor.Role.OTHER: pgettext_lazy("credit", "Avec la participation de"),
}


class FormLink(models.Model):
    """The publisher says another product is this book in another form (ONIX related product 06, 13 or 27)."""

    book = models.ForeignKey(Book, verbose_name=_("livre"), on_delete=models.CASCADE, related_name="form_links")
    isbn = models.CharField(_("ISBN de l'autre forme"), max_length=13, db_index=True)

    class Meta:
        verbose_name = _("autre forme")
        verbose_name_plural = _("autres formes")
        constraints = [models.UniqueConstraint(fields=["book", "isbn"], name="formlink_unique_book_isbn")]

    def __str__(self):
        return f"{self.book_id} → {self.isbn}"


class StockLine(models.Model):
    """What one shop holds of one book."""

    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="stock_lines"
    )
    book = models.ForeignKey(Book, verbose_name=_("livre"), on_delete=models.CASCADE, related_name="stock_lines")
    #: Copies on the shelf, as the shop last reported them (held copies included).
    quantity = models.PositiveIntegerField(_("quantité en stock"), default=0)
    #: Copies set aside for reservations not yet collected.
    held = models.PositiveIntegerField(_("exemplaires réservés"), default=0)
    price = models.DecimalField(_("prix TTC"), max_digits=8, decimal_places=2, null=True, blank=True)
    #: Last change of what a reader could get here: quantity, price or held copies.
    changed_at = models.DateTimeField(_("modifié le"), db_index=True)
    #: Change stamp of the last write (``catalogue.stock.changes``): a reader of
    #: ``stock_version >= token`` never misses a change, even one committed late.
    stock_version = models.BigIntegerField(_("version du stock"), default=0)

    objects = StockLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("ligne de stock")
        verbose_name_plural = _("lignes de stock")
        constraints = [
            models.UniqueConstraint(fields=["shop", "book"], name="stockline_unique_shop_book"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stockline_quantity_non_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="stockline_held_non_negative"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="stockline_price_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["book", "shop"], name="stockline_book_shop"),
            models.Index(fields=["shop", "stock_version"], name="stockline_shop_version"),
            models.Index(fields=["stock_version"], name="stockline_version"),
        ]

    def __str__(self):
        return f"{self.book} @ {self.shop}: {self.quantity}"

    @property
    def available(self):
        """Copies a reader can get here (``StockLineQuerySet.annotate_available`` in SQL)."""
        return max(self.quantity - self.held, 0)


KEPT_FILE_SUFFIXES = {".csv", ".tsv", ".txt", ".json"}


def private_storage():
    """Kept stock files: outside the public media, with no URL (see ``STORAGES["private"]``)."""
    return storages["private"]


def stock_file_name(instance, filename: str) -> str:
    """An unguessable name; the name the shop gave is kept in ``original_filename``."""
    suffix = Path(filename).suffix.lower()
    suffix = suffix if suffix in KEPT_FILE_SUFFIXES else ""
    return f"stock-imports/{instance.shop_id}/{secrets.token_urlsafe(24)}{suffix}"


class StockImport(models.Model):
    """One stock file sent by a shop, kept with its file and report, whatever became of it.

    Status: ``pending`` (file kept, waiting for a worker) → ``running`` →
    ``applied`` | ``refused`` (the file, not the portal: the previous stock is
    kept) | ``failed`` (the portal: an error, or a worker that stopped
    mid-way; the previous stock is kept, as the import is one transaction).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        APPLIED = "applied", _("appliqué")
        REFUSED = "refused", _("refusé")
        FAILED = "failed", _("échoué")

    class Phase(models.TextChoices):
        WAITING = "waiting", _("en attente d'un traitement")
        READING = "reading", _("lecture du fichier")
        APPLYING = "applying", _("mise à jour du stock")
        INDEXING = "indexing", _("mise à jour de la recherche")
        DONE = "done", _("terminé")

    class Channel(models.TextChoices):
        COMMAND = "command", _("ligne de commande")
        ADMIN = "admin", _("administration")
        API = "api", _("API")

    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="stock_imports"
    )
    file = models.FileField(_("fichier"), upload_to=stock_file_name, storage=private_storage, blank=True)
    original_filename = models.CharField(_("nom du fichier"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("reçu le"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("envoyé par"), null=True, blank=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices, default=Channel.COMMAND)
    status = models.CharField(_("résultat"), max_length=10, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(_("étape"), max_length=10, choices=Phase.choices, default=Phase.WAITING)
    #: The sender's options, kept for the worker.
    force = models.BooleanField(_("forcé"), default=False)
    partial = models.BooleanField(_("mise à jour partielle"), default=False)
    #: Refuse, until applied with ``force``, a snapshot that would zero titles readers hold (the admin's upload).
    hold_check = models.BooleanField(_("confirmation si des titres réservés passent à zéro"), default=False)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    #: Last sign of life of the worker running it: a ``running`` import silent for too long is marked failed.
    heartbeat_at = models.DateTimeField(_("dernier signe du traitement"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True)
    encoding = models.CharField(_("encodage"), max_length=30, blank=True)
    delimiter = models.CharField(_("séparateur"), max_length=5, blank=True)
    rows_read = models.PositiveIntegerField(_("lignes lues"), default=0)
    created_count = models.PositiveIntegerField(_("nouvelles"), default=0)
    updated_count = models.PositiveIntegerField(_("modifiées"), default=0)
    unchanged_count = models.PositiveIntegerField(_("inchangées"), default=0)
    zeroed_count = models.PositiveIntegerField(_("passées à zéro"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejetées"), default=0)
    books_created_count = models.PositiveIntegerField(_("livres ajoutés au catalogue"), default=0)
    warning_count = models.PositiveIntegerField(_("avertissements"), default=0)
    #: Lines of the file applied so far (progress while the import runs).
    lines_applied = models.PositiveIntegerField(_("lignes appliquées"), default=0)
    #: Books whose search document the import refreshes, and the ``IndexRefresh`` rows doing it.
    books_to_index = models.PositiveIntegerField(_("livres à réindexer"), default=0)
    index_refresh_ids = models.JSONField(_("mises à jour de l'index"), default=list, blank=True)
    #: The first ``STOCK_IMPORT_MAX_REPORTED_PROBLEMS`` problems:
    #: [{"line": 12, "value": "978…", "error": "clé de contrôle incorrecte", "level": "error", "kind": "isbn"}, …]
    report = models.JSONField(_("rapport ligne à ligne"), default=list, blank=True)
    #: Every problem counted by kind: {"isbn": 1200, "price": 3, "duplicate": 1}.
    problem_counts = models.JSONField(_("problèmes par type"), default=dict, blank=True)
    #: The change stamp its lines carry (``StockLine.stock_version``), once applied.
    stock_version = models.BigIntegerField(_("version du stock"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("durée (ms)"), default=0)

    class Meta:
        verbose_name = _("import de stock")
        verbose_name_plural = _("imports de stock")
        ordering = ["-created_at"]

    #: ``report`` entries of this level are titles the import zeroed (or, refused, would have).
    ZEROED = "zeroed"

    def __str__(self):
        when = timezone.localtime(self.created_at) if self.created_at else None
        return f"{self.shop} — {when:%d/%m/%Y %H:%M} — {self.get_status_display()}" if when else str(self.shop)

    @property
    def applied(self):
        return self.status == self.Status.APPLIED

    @property
    def finished(self):
        return self.status in (self.Status.APPLIED, self.Status.REFUSED, self.Status.FAILED)

    def index_progress(self) -> dict:
        """How far the search index refresh of an applied import is: books done, and refreshes failed for now."""
        refreshes = IndexRefresh.objects.filter(pk__in=self.index_refresh_ids)
        done = sum(len(ids) for ids in refreshes.filter(done_at__isnull=False).values_list("book_ids", flat=True))
        failed = refreshes.filter(done_at__isnull=True, attempts__gt=0).count()
        given_up = refreshes.filter(gave_up_at__isnull=False).count()
        if self.phase == self.Phase.INDEXING and done >= self.books_to_index:
            StockImport.objects.filter(pk=self.pk, phase=self.Phase.INDEXING).update(phase=self.Phase.DONE)
            self.phase = self.Phase.DONE
        return {
            "books_to_index": self.books_to_index,
            "books_indexed": done,
            "failed_refreshes": failed,
            "given_up_refreshes": given_up,
        }

    @property
    def problems_left_out(self):
        return max(self.rejected_count + self.warning_count - len(self.problems), 0)

    @property
    def problems(self) -> list[dict]:
        """The report's unreadable or doubtful lines."""
        return [p for p in self.report if p.get("level") != self.ZEROED]

    @property
    def zeroed_lines(self) -> list[dict]:
        """Titles zeroed (or that would be), reserved ones first: {"isbn", "title", "held"}."""
        return [p for p in self.report if p.get("level") == self.ZEROED]

    @property
    def can_retry(self) -> bool:
        """A snapshot refused only for what it zeroes: its kept file can be applied anyway."""
        return self.status == self.Status.REFUSED and bool(self.file) and bool(self.zeroed_lines)


class SearchMiss(models.Model):
    """A search that found nothing, counted: the query only, no personal data."""

    query = models.CharField(_("recherche"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("fois"), default=1)
    last_seen_at = models.DateTimeField(_("dernière fois"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("recherche sans résultat")
        verbose_name_plural = _("recherches sans résultat")
        ordering = ["-last_seen_at"]

    def __str__(self):
        return self.query


class BookSearchDocument(models.Model):
    """What the search engine reads for one book, refreshed by ``catalogue.search.update_index``.

    On PostgreSQL ``vector`` holds the weighted French ``tsvector``; on SQLite
    the text lives in the FTS5 table ``catalogue_book_fts`` (rowid = book id)
    and ``vector`` stays empty.
    """

    book = models.OneToOneField(Book, on_delete=models.CASCADE, primary_key=True, related_name="search_document")
    vector = SearchVectorField(null=True)
    #: Active shops that had a copy available when the document was refreshed (ranking boost).
    in_stock_shops = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("document de recherche")
        verbose_name_plural = _("documents de recherche")
        # Created on PostgreSQL only, by migration 0002.
        indexes = [GinIndex(fields=["vector"], name="booksearch_vector_gin")]

    def __str__(self):
        return str(self.book_id)


class SearchWord(models.Model):
    """A distinct word of the catalogue, lower-case and unaccented: the vocabulary typos are corrected to."""

    word = models.CharField(max_length=60, primary_key=True)

    class Meta:
        verbose_name = _("mot du catalogue")
        verbose_name_plural = _("mots du catalogue")
        # Created on PostgreSQL only, by migration 0002.
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="searchword_trgm")]

    def __str__(self):
        return self.word


class IndexRefresh(Outbox):
    """Books whose search documents must be refreshed, written with the change that calls for it.

    The ``refresh_search_index`` task does it after commit; a failure is retried (see ``portal.tasks``).
    """

    book_ids = models.JSONField(_("livres"))
    done_at = models.DateTimeField(_("fait le"), null=True, blank=True)

    class Meta:
        verbose_name = _("mise à jour de l'index de recherche")
        verbose_name_plural = _("mises à jour de l'index de recherche")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["done_at", "gave_up_at"], name="indexrefresh_pending")]

    def __str__(self):
        count = len(self.book_ids)
        return ngettext("%(count)s livre", "%(count)s livres", count) % {"count": count}
