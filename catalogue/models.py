from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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

    class Meta:
        verbose_name = _("genre")
        verbose_name_plural = _("genres")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["scheme", "code"], name="subject_unique_code")]

    def __str__(self):
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

    #: Sources that may overwrite a field, weakest first.
    SOURCE_RANK = {Source.SHOP_FILE: 0, Source.ONIX: 1, Source.STAFF: 2}

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
    #: Which source last set each field: {"title": "onix", "publisher": "shop_file", ...}.
    provenance = models.JSONField(_("provenance des données"), default=dict, blank=True)
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

    def contributors_with_role(self, role):
        return [c for c in self.contributors.all() if c.role == role]

    @property
    def authors(self):
        return self.contributors_with_role(Contributor.Role.AUTHOR)

    @property
    def translators(self):
        return self.contributors_with_role(Contributor.Role.TRANSLATOR)

    def apply_metadata(self, values: dict, source: str) -> list[str]:
        """Set fields from ``source`` unless a stronger source already set them.

        Returns the names of the fields that changed.
        """
        changed = []
        rank = self.SOURCE_RANK[source]
        for field, value in values.items():
            if value in (None, ""):
                continue
            current_source = self.provenance.get(field)
            if current_source and self.SOURCE_RANK.get(current_source, 0) > rank:
                continue
            if getattr(self, field) != value:
                setattr(self, field, value)
                changed.append(field)
            self.provenance[field] = source
        return changed


class Contributor(models.Model):
    """A person's part in a book, in the order the publisher gives."""

    class Role(models.TextChoices):
        AUTHOR = "author", _("auteur")
        TRANSLATOR = "translator", _("traducteur")
        ILLUSTRATOR = "illustrator", _("illustrateur")
        EDITOR = "editor", _("directeur de publication")
        PREFACE = "preface", _("préfacier")
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


class StockLine(models.Model):
    """What one shop holds of one book."""

    shop = models.ForeignKey("bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="stock_lines")
    book = models.ForeignKey(Book, verbose_name=_("livre"), on_delete=models.CASCADE, related_name="stock_lines")
    #: Copies on the shelf, as the shop last reported them (held copies included).
    quantity = models.PositiveIntegerField(_("quantité en stock"), default=0)
    #: Copies set aside for reservations not yet collected.
    held = models.PositiveIntegerField(_("exemplaires réservés"), default=0)
    price = models.DecimalField(_("prix TTC"), max_digits=8, decimal_places=2, null=True, blank=True)
    #: Last change of what a reader could get here: quantity, price or held
    #: copies (pass Culture's ``modifiedSince`` sync reads it).
    changed_at = models.DateTimeField(_("modifié le"), db_index=True)

    objects = StockLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("ligne de stock")
        verbose_name_plural = _("lignes de stock")
        constraints = [
            models.UniqueConstraint(fields=["shop", "book"], name="stockline_unique_shop_book"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stockline_quantity_non_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="stockline_held_non_negative"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="stockline_price_non_negative"),
        ]
        indexes = [models.Index(fields=["book", "shop"], name="stockline_book_shop")]

    def __str__(self):
        return f"{self.book} @ {self.shop}: {self.quantity}"

    @property
    def available(self):
        """Copies a reader can get here (``StockLineQuerySet.annotate_available`` in SQL)."""
        return max(self.quantity - self.held, 0)


class StockImport(models.Model):
    """One stock snapshot sent by a shop, kept with its file and report."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("appliqué")
        REFUSED = "refused", _("refusé")

    class Channel(models.TextChoices):
        COMMAND = "command", _("ligne de commande")
        ADMIN = "admin", _("administration")
        API = "api", _("API")

    shop = models.ForeignKey("bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="stock_imports")
    file = models.FileField(_("fichier"), upload_to="stock-imports/%Y/%m/", blank=True)
    original_filename = models.CharField(_("nom du fichier"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("reçu le"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("envoyé par"), null=True, blank=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices, default=Channel.COMMAND)
    status = models.CharField(_("résultat"), max_length=10, choices=Status.choices)
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
    #: [{"line": 12, "value": "978…", "error": "clé de contrôle incorrecte"}, …]
    report = models.JSONField(_("rapport ligne à ligne"), default=list, blank=True)
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
    """A search that found nothing: the query only, no personal data."""

    query = models.CharField(_("recherche"), max_length=200)
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("recherche sans résultat")
        verbose_name_plural = _("recherches sans résultat")
        ordering = ["-created_at"]

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
