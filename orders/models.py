"""When no shop near the reader has the book: an order through a member shop, or an alert when a copy comes."""

import datetime

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.tasks import Outbox
from reservations.models import REFERENCE_LENGTH, Reservation, StatusEvent, new_reference, status_fields

Language = Reservation.Language


class OrderQuerySet(models.QuerySet):
    def active(self):
        """Orders a reader is still waiting for (or still has to confirm)."""
        return self.filter(status__in=Order.ACTIVE_STATUSES)

    def for_user(self, user):
        if user.is_superuser:
            return self
        return self.filter(shop__staff=user)

    def seen_by_shop(self):
        """Orders the shop works on: the reader has confirmed their address."""
        return self.exclude(status=Order.Status.UNCONFIRMED)


class Order(models.Model):
    """A book ordered through a member shop (from its distributor), collected there when it arrives."""

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", _("e-mail à confirmer")
        REQUESTED = "requested", _("demandée")
        ACCEPTED = "accepted", _("commandée au distributeur")
        ARRIVED = "arrived", _("arrivée, à retirer")
        COLLECTED = "collected", _("retirée")
        DECLINED = "declined", _("refusée par la librairie")
        CANCELLED = "cancelled", _("annulée")
        EXPIRED = "expired", _("expirée")

    ACTIVE_STATUSES = (Status.UNCONFIRMED, Status.REQUESTED, Status.ACCEPTED, Status.ARRIVED)
    TRANSITIONS = {
        Status.UNCONFIRMED: {Status.REQUESTED, Status.EXPIRED},
        # Straight to arrived when the shop found a copy without ordering one.
        Status.REQUESTED: {Status.ACCEPTED, Status.ARRIVED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED},
        Status.ACCEPTED: {Status.ARRIVED, Status.DECLINED, Status.CANCELLED},
        Status.ARRIVED: {Status.COLLECTED, Status.CANCELLED, Status.EXPIRED},
        Status.COLLECTED: set(),
        Status.DECLINED: set(),
        Status.CANCELLED: set(),
        Status.EXPIRED: set(),
    }

    reference = models.CharField(_("référence"), max_length=REFERENCE_LENGTH, unique=True, default=new_reference)
    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.PROTECT, related_name="orders"
    )
    book = models.ForeignKey("catalogue.Book", verbose_name=_("livre"), on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveSmallIntegerField(_("exemplaires"), default=1)
    reader_name = models.CharField(_("nom du lecteur"), max_length=200)
    reader_email = models.EmailField(_("e-mail du lecteur"), db_index=True)
    reader_phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    note = models.TextField(_("message du lecteur"), blank=True)
    language = models.CharField(_("langue du lecteur"), max_length=2, choices=Language.choices, default=Language.FR)
    status = models.CharField(_("statut"), max_length=12, choices=Status.choices, default=Status.UNCONFIRMED)
    created_at = models.DateTimeField(_("demandée le"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    #: The reader followed the link in the first e-mail: only then does the shop see the order.
    email_confirmed_at = models.DateTimeField(_("adresse confirmée le"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("commandée le"), null=True, blank=True)
    #: When the shop expects the book from its distributor.
    expected_on = models.DateField(_("arrivée prévue le"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrivée le"), null=True, blank=True)
    pickup_deadline = models.DateTimeField(_("à retirer avant"), null=True, blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    reason = models.CharField(_("motif"), max_length=300, blank=True)
    #: The shop was told that its own stock now holds the book (once).
    stock_notice_at = models.DateTimeField(_("stock signalé le"), null=True, blank=True)
    #: One-time token of the form: the same form sent twice makes one order.
    form_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("commande")
        verbose_name_plural = _("commandes")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["shop", "status"], name="order_shop_status"),
            models.Index(fields=["book", "status"], name="order_book_status"),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive")]

    def __str__(self):
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def can_move_to(self, status) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def can_be_cancelled_by_reader(self) -> bool:
        return self.status != self.Status.UNCONFIRMED and self.can_move_to(self.Status.CANCELLED)

    def reader_token(self) -> str:
        return signing.Signer(salt="orders.reader-link").sign(self.reference)

    @classmethod
    def reference_from_reader_token(cls, token: str) -> str:
        return signing.Signer(salt="orders.reader-link").unsign(token)

    def confirm_token(self) -> str:
        return signing.TimestampSigner(salt="orders.confirm-email").sign(self.reference)

    @classmethod
    def reference_from_confirm_token(cls, token: str) -> str:
        """Raises ``signing.BadSignature`` (or ``SignatureExpired``) for a forged or stale link."""
        return signing.TimestampSigner(salt="orders.confirm-email").unsign(
            token, max_age=datetime.timedelta(hours=settings.ORDERS_CONFIRM_HOURS)
        )

    def get_reader_url(self) -> str:
        return reverse("orders:detail", kwargs={"token": self.reader_token()})

    def get_reader_absolute_url(self) -> str:
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + self.get_reader_url()

    def get_confirm_absolute_url(self) -> str:
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + reverse(
            "orders:confirm", kwargs={"token": self.confirm_token()}
        )

    def steps(self) -> list[tuple[str, datetime.datetime | datetime.date]]:
        """The order's life so far, each step with its date, for the reader's page and e-mails."""
        steps = [(_("demandée"), self.created_at)]
        for label, moment in (
            (_("adresse e-mail confirmée"), self.email_confirmed_at),
            (_("commandée au distributeur par la librairie"), self.accepted_at),
            (_("arrivée en librairie"), self.arrived_at),
        ):
            if moment:
                steps.append((label, moment))
        if self.closed_at:
            steps.append((self.get_status_display(), self.closed_at))
        return steps


class OrderEvent(StatusEvent):
    """One change of an order's status."""

    SUBJECT_FIELD = "order"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status, to_status = status_fields(Order.Status.choices)

    def __str__(self):
        return f"{self.get_from_status_display() or '—'} → {self.get_to_status_display()}"


class AlertQuerySet(models.QuerySet):
    def watching(self, now=None):
        """Confirmed alerts still waiting for a copy."""
        return self.filter(
            confirmed_at__isnull=False,
            fulfilled_at__isnull=True,
            unsubscribed_at__isnull=True,
            expired_at__isnull=True,
            expires_at__gt=now or timezone.now(),
        )

    def open(self):
        """Alerts not ended (confirmed or not): one per address and book."""
        return self.filter(fulfilled_at__isnull=True, unsubscribed_at__isnull=True, expired_at__isnull=True)


class Alert(models.Model):
    """ "Tell me when a copy is near": a reader's address, a book, and where (a point and radius, or one shop)."""

    book = models.ForeignKey("catalogue.Book", verbose_name=_("livre"), on_delete=models.CASCADE, related_name="alerts")
    reader_email = models.EmailField(_("e-mail du lecteur"))
    language = models.CharField(_("langue du lecteur"), max_length=2, choices=Language.choices, default=Language.FR)
    #: The reader's point and radius (None: any distance) …
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    place = models.CharField(_("lieu"), max_length=200, blank=True)
    radius_km = models.PositiveSmallIntegerField(_("rayon (km)"), null=True, blank=True)
    #: … or one chosen shop.
    shop = models.ForeignKey(
        "bookshops.Shop",
        verbose_name=_("librairie"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    created_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmée le"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("satisfaite le"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("désinscrite le"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expire le"))
    expired_at = models.DateTimeField(_("expirée le"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        ordering = ["-created_at"]
        indexes = [
            # The matching reads the watching alerts of the books a change touched.
            models.Index(
                fields=["book"],
                name="alert_watching_book",
                condition=Q(
                    confirmed_at__isnull=False,
                    fulfilled_at__isnull=True,
                    unsubscribed_at__isnull=True,
                    expired_at__isnull=True,
                ),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reader_email", "book"],
                name="alert_one_open_per_address_and_book",
                condition=Q(fulfilled_at__isnull=True, unsubscribed_at__isnull=True, expired_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.reader_email} — {self.book}"

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def _token(self, salt: str) -> str:
        return signing.Signer(salt=salt).sign(str(self.pk))

    def confirm_url(self) -> str:
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + reverse(
            "orders:alert_confirm", kwargs={"token": self._token("orders.alert-confirm")}
        )

    def unsubscribe_url(self) -> str:
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + reverse(
            "orders:alert_unsubscribe", kwargs={"token": self._token("orders.alert-unsubscribe")}
        )

    @classmethod
    def pk_from_token(cls, token: str, *, purpose: str) -> int:
        """Raises ``signing.BadSignature`` for a forged link."""
        return int(signing.Signer(salt=f"orders.alert-{purpose}").unsign(token))


class OrderEmail(Outbox):
    """An e-mail about an order or an alert, written with the change; a task renders and sends it."""

    DONE_FIELD = "sent_at"
    KEPT_FIELDS = ("subject", "body_text")

    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    kind = models.CharField(_("type"), max_length=30)
    to = models.EmailField(_("destinataire"))
    language = models.CharField(_("langue"), max_length=2, choices=Language.choices, default=Language.FR)
    #: What the template needs beside the order or alert (JSON values).
    context = models.JSONField(_("contexte"), default=dict, blank=True)
    subject = models.CharField(_("objet"), max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail (commandes et alertes)")
        verbose_name_plural = _("e-mails (commandes et alertes)")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at", "gave_up_at"], name="orderemail_pending")]

    def __str__(self):
        return f"{self.kind} → {self.to}"
