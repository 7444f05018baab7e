"""What the portal keeps of its link with pass Culture: lines to push, EANs checked, runs, bookings."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingPush(models.Model):
    """A line whose availability changed and is not yet sent to pass Culture.

    Written in the transaction of the change (``services.push_mark``), deleted
    once pushed if it was not marked again meanwhile (``marked_at`` unchanged).
    """

    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    book = models.ForeignKey("catalogue.Book", on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "book"], name="pendingpush_unique_shop_book")]


class Offer(models.Model):
    """What pass Culture was last told about one line of a shop (and its offer id there, once listed)."""

    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    book = models.ForeignKey("catalogue.Book", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)
    offer_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "book"], name="pcoffer_unique_shop_book")]


class EanCheck(models.Model):
    """pass Culture's answer for one EAN: can it be offered (paper books only, compliant with its terms)."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("accepté")
        NOT_FOUND = "notFound", _("inconnu du pass Culture")
        SUBCATEGORY_NOT_ALLOWED = "subcategoryNotAllowed", _("catégorie non éligible (seuls les livres papier le sont)")
        NOT_COMPLIANT_WITH_CGU = "notCompliantWithCgu", _("non conforme aux conditions générales du pass Culture")

    book = models.OneToOneField("catalogue.Book", on_delete=models.CASCADE, primary_key=True, related_name="+")
    status = models.CharField(_("réponse"), max_length=30, choices=Status.choices)
    checked_at = models.DateTimeField(_("vérifié le"), default=timezone.now)

    class Meta:
        verbose_name = _("EAN vérifié")
        verbose_name_plural = _("EAN vérifiés")


class SyncRun(models.Model):
    """One exchange with pass Culture for a shop: a push of changed lines, a full resync or a bookings listing."""

    class Kind(models.TextChoices):
        PUSH = "push", _("envoi des changements")
        FULL = "full", _("envoi complet")
        BOOKINGS = "bookings", _("relevé des réservations")

    class Status(models.TextChoices):
        RUNNING = "running", _("en cours")
        OK = "ok", _("réussi")
        PARTIAL = "partial", _("réussi en partie")
        FAILED = "failed", _("échoué")

    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="passculture_runs"
    )
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("résultat"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("commencé le"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    lines_seen = models.PositiveIntegerField(_("lignes examinées"), default=0)
    sent_count = models.PositiveIntegerField(_("lignes envoyées"), default=0)
    unpriced_count = models.PositiveIntegerField(_("lignes sans prix (non envoyées)"), default=0)
    rejected_count = models.PositiveIntegerField(_("EAN refusés"), default=0)
    requests_count = models.PositiveIntegerField(_("appels au pass Culture"), default=0)
    #: EAN -> why it was not sent (pass Culture's reason, or the portal's).
    rejected = models.JSONField(_("EAN refusés et pourquoi"), default=dict, blank=True)
    message = models.TextField(_("compte rendu"), blank=True)
    errors = models.TextField(_("erreurs"), blank=True)

    class Meta:
        verbose_name = _("échange avec le pass Culture")
        verbose_name_plural = _("échanges avec le pass Culture")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["shop", "-started_at"], name="syncrun_shop_started")]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.shop} — {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"


class Booking(models.Model):
    """A young reader's pass Culture booking of a book at a member shop; while ``held`` it holds the copies."""

    class State(models.TextChoices):
        HELD = "held", _("exemplaire mis de côté")
        NO_COPY = "no_copy", _("aucun exemplaire libre : à annuler sur pass Culture Pro")
        USED = "used", _("retiré (contremarque validée)")
        CANCELLED = "cancelled", _("annulée ou expirée")

    #: The booking's id at pass Culture.
    passculture_id = models.PositiveBigIntegerField(_("n° pass Culture"), unique=True)
    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="passculture_bookings"
    )
    book = models.ForeignKey("catalogue.Book", verbose_name=_("livre"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField(_("exemplaires"), default=1)
    state = models.CharField(_("état"), max_length=10, choices=State.choices)
    #: pass Culture's status as last read (CONFIRMED, USED, CANCELLED, REIMBURSED).
    passculture_status = models.CharField(_("statut pass Culture"), max_length=20)
    offer_id = models.PositiveBigIntegerField(_("offre pass Culture"))
    price_cents = models.PositiveIntegerField(_("prix (centimes)"), null=True, blank=True)
    booked_at = models.DateTimeField(_("réservé le"), null=True, blank=True)
    created_at = models.DateTimeField(_("reçu le"), default=timezone.now)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)

    class Meta:
        verbose_name = _("réservation pass Culture")
        verbose_name_plural = _("réservations pass Culture")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "state"], name="pcbooking_shop_state")]

    def __str__(self):
        return f"pass Culture #{self.passculture_id} — {self.book} — {self.get_state_display()}"
