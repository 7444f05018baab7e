import secrets

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.tasks import Outbox

#: Upper-case letters and digits without the look-alikes 0/O, 1/I/L.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8
READER_LINK_SALT = "reservations.reader-link"


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class ReservationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=Reservation.ACTIVE_STATUSES)

    def closed(self):
        return self.exclude(status__in=Reservation.ACTIVE_STATUSES)

    def for_user(self, user):
        if user.is_superuser:
            return self
        return self.filter(shop__staff=user)

    def awaiting_reminder(self, now):
        return self.filter(status=Reservation.Status.REQUESTED, remind_at__lte=now, reminder_sent_at__isnull=True)

    def unconfirmed_overdue(self, now):
        """Requested too long ago; the shop was reminded before ``now``."""
        return self.filter(status=Reservation.Status.REQUESTED, confirm_by__lte=now, reminder_sent_at__lt=now)

    def uncollected_overdue(self, now):
        return self.filter(status=Reservation.Status.CONFIRMED, pickup_deadline__lte=now)

    # The counter's sections (``reservations.counter``).
    def to_set_aside(self):
        return self.filter(status=Reservation.Status.REQUESTED).order_by("confirm_by", "pk")

    def waiting(self, now):
        """Set aside, the reader still has time."""
        return self.filter(status=Reservation.Status.CONFIRMED, pickup_deadline__gt=now).order_by(
            "pickup_deadline", "pk"
        )

    def overdue(self, now):
        """Set aside, past the pickup deadline, not expired yet: call the reader or put the copy back."""
        return self.uncollected_overdue(now).order_by("pickup_deadline", "pk")

    def collected_between(self, start, end):
        return self.filter(status=Reservation.Status.COLLECTED, closed_at__gte=start, closed_at__lt=end).order_by(
            "-closed_at", "-pk"
        )

    def active_for_reader(self, *, email: str, phone: str):
        """A reader's active reservations: by e-mail address, or by phone number for a phone-only one."""
        if email:
            return self.active().filter(reader_email=email)
        return self.active().filter(reader_email="", reader_phone=phone)

    def to_purge(self, before):
        return self.closed().filter(closed_at__lt=before, anonymised_at__isnull=True)

    def replay_of(self, *, form_token: str, stock_line, email: str, phone: str = ""):
        """The reservation a replayed form made: same token, same line, same reader; None otherwise."""
        reader = {"reader_email": email} if email else {"reader_email": "", "reader_phone": phone}
        return self.filter(
            form_token=form_token, shop_id=stock_line.shop_id, book_id=stock_line.book_id, **reader
        ).first()

    def held_for_colleague(self, *, stock_line, origin) -> int:
        """Copies ``origin``'s staff hold at once on a colleague's line for their customers."""
        return (
            self.active()
            .filter(shop_id=stock_line.shop_id, book_id=stock_line.book_id, referred_by_shop=origin)
            .aggregate(copies=models.Sum("quantity"))["copies"]
            or 0
        )


class Reservation(models.Model):
    """A reader's request to collect copies of a book at one shop."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("demandée")
        CONFIRMED = "confirmed", _("prête à retirer")
        COLLECTED = "collected", _("retirée")
        CANCELLED = "cancelled", _("annulée")
        EXPIRED = "expired", _("expirée")
        REDIRECTED = "redirected", _("transférée vers une autre librairie")

    class Language(models.TextChoices):
        FR = "fr", _("français")
        EN = "en", _("anglais")

    ACTIVE_STATUSES = (Status.REQUESTED, Status.CONFIRMED)
    #: The only moves a reservation can make; every other one is refused.
    TRANSITIONS = {
        Status.REQUESTED: {Status.CONFIRMED, Status.COLLECTED, Status.CANCELLED, Status.EXPIRED, Status.REDIRECTED},
        Status.CONFIRMED: {Status.COLLECTED, Status.CANCELLED, Status.EXPIRED, Status.REDIRECTED},
        Status.COLLECTED: set(),
        Status.CANCELLED: set(),
        Status.EXPIRED: set(),
        Status.REDIRECTED: set(),
    }

    reference = models.CharField(_("référence"), max_length=REFERENCE_LENGTH, unique=True, default=new_reference)
    shop = models.ForeignKey(
        "bookshops.Shop", verbose_name=_("librairie"), on_delete=models.PROTECT, related_name="reservations"
    )
    book = models.ForeignKey(
        "catalogue.Book", verbose_name=_("livre"), on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveSmallIntegerField(_("exemplaires"), default=1)
    reader_name = models.CharField(_("nom du lecteur"), max_length=200)
    #: Empty for a reservation made at a counter with a phone number only: the shop calls the reader.
    reader_email = models.EmailField(_("e-mail du lecteur"), db_index=True, blank=True)
    reader_phone = models.CharField(_("téléphone du lecteur"), max_length=30, blank=True)
    note = models.TextField(_("message du lecteur"), max_length=1000, blank=True)
    language = models.CharField(_("langue du lecteur"), max_length=2, choices=Language.choices, default=Language.FR)
    status = models.CharField(_("statut"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(_("demandée le"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    confirmed_at = models.DateTimeField(_("mise de côté le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    #: The shop must confirm before this moment or the reservation expires.
    confirm_by = models.DateTimeField(_("à confirmer avant"), null=True, blank=True)
    #: When the shop is reminded of an unconfirmed reservation.
    remind_at = models.DateTimeField(_("relance prévue le"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("relance envoyée le"), null=True, blank=True)
    #: Set at confirmation: the reader collects before this moment.
    pickup_deadline = models.DateTimeField(_("à retirer avant"), null=True, blank=True)
    cancel_reason = models.CharField(_("motif d'annulation"), max_length=300, blank=True)
    redirected_to = models.ForeignKey(
        "self",
        verbose_name=_("transférée vers"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redirected_from",
    )
    #: The shop whose bookseller sent the customer here, if any.
    referred_by_shop = models.ForeignKey(
        "bookshops.Shop",
        verbose_name=_("envoyé par la librairie"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_reservations",
    )
    #: One-time token of the form that created it: a replayed form finds it again.
    form_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    anonymised_at = models.DateTimeField(_("données personnelles effacées le"), null=True, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "confirmed", "collected", "cancelled", "expired", "redirected"]),
                name="reservation_status_valid",
            ),
            models.CheckConstraint(condition=Q(language__in=["fr", "en"]), name="reservation_language_valid"),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(pickup_deadline__isnull=False),
                name="reservation_confirmed_has_deadline",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "confirm_by"], name="reservation_status_confirm_by"),
            models.Index(fields=["status", "pickup_deadline"], name="reservation_status_deadline"),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def can_move_to(self, status) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def can_be_cancelled_by_reader(self) -> bool:
        return self.can_move_to(self.Status.CANCELLED)

    def reader_token(self) -> str:
        return signing.Signer(salt=READER_LINK_SALT).sign(self.reference)

    @classmethod
    def reference_from_token(cls, token: str) -> str:
        """The reference a reader link was signed for; raises ``signing.BadSignature``."""
        return signing.Signer(salt=READER_LINK_SALT).unsign(token)

    def get_reader_url(self) -> str:
        return reverse("reservations:detail", kwargs={"token": self.reader_token()})

    def get_reader_absolute_url(self) -> str:
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + self.get_reader_url()

    def get_admin_absolute_url(self) -> str:
        """The reservation's page in the booksellers' admin, for the shop's e-mails."""
        # By reference: the shop's e-mail is rendered before the reservation is saved.
        path = reverse("admin:reservations_reservation_by_reference", args=[self.reference])
        return settings.RESERVATIONS_LINK_BASE_URL.rstrip("/") + path


def status_fields(choices) -> tuple[models.CharField, models.CharField]:
    """The ``from_status`` and ``to_status`` fields of a ``StatusEvent`` over one workflow's statuses."""
    return (
        models.CharField(_("de"), max_length=12, choices=choices, blank=True),
        models.CharField(_("vers"), max_length=12, choices=choices),
    )


class StatusEvent(models.Model):
    """One change of a workflow's status (a reservation's, an order's): who, when, why.

    A concrete event adds the foreign key to what changed (``related_name="events"``)
    and ``from_status, to_status = status_fields(<its Status>.choices)``.
    """

    class Actor(models.TextChoices):
        STAFF = "staff", _("libraire")
        READER = "reader", _("lecteur")
        SYSTEM = "system", _("système")

    #: The foreign key to what changed, set by the concrete event.
    SUBJECT_FIELD = ""

    actor = models.CharField(_("par"), max_length=10, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("utilisateur"), null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.CharField(_("motif"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("le"), default=timezone.now)

    class Meta:
        abstract = True
        verbose_name = _("étape")
        verbose_name_plural = _("historique")
        ordering = ["created_at", "pk"]

    @classmethod
    def record(cls, subject, from_status: str, to_status: str, *, actor: str, user=None, reason: str = "", now):
        """Write the step ``from_status`` → ``to_status`` of ``subject``."""
        return cls.objects.create(
            **{cls.SUBJECT_FIELD: subject},
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            user=user,
            reason=(reason or "")[:300],
            created_at=now,
        )


class ReservationEvent(StatusEvent):
    """One change of a reservation's status."""

    SUBJECT_FIELD = "reservation"

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="events")
    from_status, to_status = status_fields(Reservation.Status.choices)

    def __str__(self):
        return self.description()

    def description(self) -> str:
        """The step in words, in the active language: « Mise de côté par Camille »."""
        Status = Reservation.Status
        what = {
            Status.REQUESTED: _("Demandée") if self.actor != self.Actor.STAFF else _("Demande enregistrée"),
            Status.CONFIRMED: _("Mise de côté"),
            Status.COLLECTED: _("Remise au lecteur"),
            Status.CANCELLED: _("Annulée"),
            Status.EXPIRED: _("Expirée"),
            Status.REDIRECTED: _("Transférée vers une autre librairie"),
        }.get(self.to_status, self.to_status)
        if self.actor == self.Actor.SYSTEM:
            return _("%(what)s automatiquement") % {"what": what}
        if self.actor == self.Actor.READER:
            return _("%(what)s par le lecteur") % {"what": what}
        who = self.user.get_full_name() or self.user.get_username() if self.user_id else ""
        if who:
            return _("%(what)s par %(who)s (librairie)") % {"what": what, "who": who}
        return _("%(what)s par la librairie") % {"what": what}


class OutgoingEmail(Outbox):
    """An e-mail about a reservation, written in the same transaction as the change it tells about.

    Only the intent is written then (kind, recipient, language, ``context``);
    the ``emails_send`` task renders and sends it after commit, and a mail
    server failure is retried (see ``portal.tasks``).
    """

    DONE_FIELD = "sent_at"
    KEPT_FIELDS = ("subject", "body_text", "body_html")
    WORK_RELATED = ("reservation__shop", "reservation__book")

    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    kind = models.CharField(_("type"), max_length=30)
    to = models.EmailField(_("destinataire"))
    language = models.CharField(
        _("langue"), max_length=2, choices=Reservation.Language.choices, default=Reservation.Language.FR
    )
    #: What the template needs beside the reservation (JSON values, e.g. ``was_confirmed``).
    context = models.JSONField(_("contexte"), default=dict, blank=True)
    subject = models.CharField(_("objet"), max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at", "gave_up_at"], name="outgoingemail_pending")]

    def __str__(self):
        return f"{self.kind} → {self.to}"


class ReservationPauseQuerySet(models.QuerySet):
    def in_force(self, moment):
        return self.filter(starts_at__lte=moment).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=moment))

    def for_shop(self, shop_id):
        """Pauses that stop reservations at one shop: the network's and the shop's own."""
        return self.filter(Q(shop__isnull=True) | Q(shop_id=shop_id))

    def overlapping(self, start, end):
        return self.filter(starts_at__lt=end).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))

    def for_user(self, user):
        if user.is_superuser:
            return self
        return self.filter(Q(shop__isnull=True) | Q(shop__staff=user))


class ReservationPause(models.Model):
    """New reservations stopped from ``starts_at`` to ``ends_at``: network-wide, or at one shop.

    Searching, browsing and reservations already made go on as usual.
    """

    #: Empty: the whole network (decided by the association).
    shop = models.ForeignKey(
        "bookshops.Shop",
        verbose_name=_("librairie"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reservation_pauses",
        help_text=_("Laisser vide pour suspendre tout le réseau."),
    )
    starts_at = models.DateTimeField(_("début"), default=timezone.now)
    #: Empty: until someone ends the pause.
    ends_at = models.DateTimeField(_("fin"), null=True, blank=True, help_text=_("Laisser vide : jusqu'à nouvel ordre."))
    message = models.CharField(
        _("message aux lecteurs"),
        max_length=300,
        help_text=_("Affiché à la place du bouton « Réserver », par exemple : « Inventaire, de retour le 8 janvier »."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("décidée par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
    )
    created_at = models.DateTimeField(_("enregistrée le"), default=timezone.now, editable=False)

    objects = ReservationPauseQuerySet.as_manager()

    class Meta:
        verbose_name = _("pause des réservations")
        verbose_name_plural = _("pauses des réservations")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="reservationpause_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.message

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("La fin doit venir après le début.")})
