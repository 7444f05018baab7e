import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ShopQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def taking_reservations(self):
        """Shops a reader can reserve at online."""
        return self.filter(is_active=True, offers_click_and_collect=True)

    def taking_orders(self):
        """Shops a reader can order a book through online."""
        return self.filter(is_active=True, takes_portal_orders=True)

    def for_user(self, user):
        """The shops a user may manage: all for the association, their own for staff."""
        if user.is_superuser:
            return self
        return self.filter(staff=user)


class CoordinatesSource(models.TextChoices):
    GEOCODER = "geocoder", _("géocodage de l'adresse")
    FILE = "file", _("fichier d'import")
    MANUAL = "manual", _("saisie manuelle")


class Shop(models.Model):
    """A member bookshop of the network."""

    name = models.CharField(_("nom"), max_length=200)
    slug = models.SlugField(_("identifiant"), max_length=100, unique=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    town = models.CharField(_("ville"), max_length=100, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True, db_index=True)
    latitude = models.FloatField(
        _("latitude"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        _("longitude"), null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    #: Where the coordinates come from; hand-corrected ones are never re-geocoded.
    coordinates_source = models.CharField(
        _("origine des coordonnées"), max_length=10, choices=CoordinatesSource.choices, blank=True
    )
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("site web"), blank=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    description = models.TextField(_("présentation"), blank=True)

    offers_click_and_collect = models.BooleanField(_("réservation et retrait en librairie"), default=True)
    offers_postal_delivery = models.BooleanField(_("envoi par la poste"), default=False)
    offers_remote_orders = models.BooleanField(_("commande par téléphone ou e-mail"), default=True)
    #: Orders readers send through the portal, for books the shop does not hold.
    takes_portal_orders = models.BooleanField(_("commandes en ligne (livres absents du stock)"), default=True)
    #: The shop's usual delay for an order from its distributors, in days: "en général 3 à 7 jours".
    order_delay_min_days = models.PositiveSmallIntegerField(
        _("délai de commande habituel, au plus tôt (jours)"), default=3
    )
    order_delay_max_days = models.PositiveSmallIntegerField(
        _("délai de commande habituel, au plus tard (jours)"), default=7
    )
    #: Hours the shop needs, after a reservation, to set the copy aside.
    pickup_delay_hours = models.PositiveSmallIntegerField(_("délai de mise de côté (heures)"), default=2)
    #: Opening days a confirmed reservation waits for the reader.
    hold_days = models.PositiveSmallIntegerField(
        _("durée de garde (jours d'ouverture)"), default=7, validators=[MinValueValidator(1)]
    )

    class ReservationNotices(models.TextChoices):
        EACH = "each", _("un e-mail par réservation")
        DIGEST = "digest", _("un récapitulatif par jour")
        BOTH = "both", _("les deux")

    #: How the shop hears of new reservations (``send_reservation_digest`` sends the daily one).
    reservation_notices = models.CharField(
        _("avis des nouvelles réservations"),
        max_length=10,
        choices=ReservationNotices.choices,
        default=ReservationNotices.EACH,
    )
    reservation_digest_sent_at = models.DateTimeField(
        _("dernier récapitulatif envoyé le"), null=True, blank=True, editable=False
    )

    #: Median time the shop took to confirm its reservations lately (``figures_refresh`` writes it);
    #: empty until it has enough history.
    typical_confirm_minutes = models.PositiveIntegerField(
        _("délai de confirmation habituel (minutes)"), null=True, blank=True, editable=False
    )
    #: When the shop last sent a stock snapshot; the freshness readers see.
    stock_reported_at = models.DateTimeField(_("stock transmis le"), null=True, blank=True)
    is_active = models.BooleanField(_("membre actif"), default=True)
    #: The shop's venue ("lieu") at pass Culture, found by SIRET among the venues
    #: its offerer gave the association's provider access to.
    passculture_venue_id = models.PositiveBigIntegerField(_("lieu pass Culture (identifiant)"), null=True, blank=True)
    passculture_enabled = models.BooleanField(
        _("stock envoyé au pass Culture"),
        default=False,
        help_text=_(
            "Les titres en stock sont proposés aux jeunes sur le pass Culture et leurs réservations arrivent ici."
        ),
    )
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("équipe"), related_name="shops", blank=True)
    #: One more on every write to the shop's opening hours or closures (database triggers, so no
    #: path forgets it): the reservation deadlines' calendar is cached per process under this number.
    calendar_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("librairie")
        verbose_name_plural = _("librairies")
        ordering = ["name"]
        indexes = [models.Index(fields=["latitude", "longitude"], name="shop_coordinates")]

    def __str__(self):
        return f"{self.name} ({self.town})" if self.town else self.name

    def get_absolute_url(self):
        return reverse("bookshops:detail", kwargs={"slug": self.slug})

    @property
    def has_coordinates(self):
        return self.latitude is not None and self.longitude is not None

    @property
    def takes_reservations(self) -> bool:
        """Whether a reader can reserve here online (``ShopQuerySet.taking_reservations``)."""
        return self.is_active and self.offers_click_and_collect

    @property
    def wants_each_reservation_email(self) -> bool:
        return self.reservation_notices != self.ReservationNotices.DIGEST

    @property
    def wants_reservation_digest(self) -> bool:
        return self.reservation_notices != self.ReservationNotices.EACH

    def weekly_hours(self) -> list[tuple[str, list]]:
        """(weekday name, that day's opening ranges) from Monday to Sunday; an empty list is a closed day."""
        hours = self.opening_hours.all()
        return [(label, [h for h in hours if h.weekday == day]) for day, label in OpeningHours.WEEKDAYS]

    @property
    def takes_orders(self) -> bool:
        """Whether a reader can order a book through this shop online (``ShopQuerySet.taking_orders``)."""
        return self.is_active and self.takes_portal_orders

    def is_open_at(self, moment: datetime.datetime | None = None) -> bool:
        """Whether the shop is open at that moment (now by default)."""
        return open_at(self.opening_hours.all(), self.closures.all(), moment)

    def next_opening(self, moment: datetime.datetime | None = None) -> datetime.datetime | None:
        """When the shop opens next after that moment (now by default)."""
        return next_opening(self.opening_hours.all(), self.closures.all(), moment)


def open_at(hours, closures, moment: datetime.datetime | None = None) -> bool:
    """Whether opening ``hours`` minus ``closures`` (of one shop) include that moment (now by default)."""
    moment = timezone.localtime(moment or timezone.now())
    day, time = moment.date(), moment.time()
    if any(c.start_date <= day <= c.end_date for c in closures):
        return False
    yesterday = (day.weekday() - 1) % 7
    for h in hours:
        if not crosses_midnight(h.opens, h.closes):
            if h.weekday == day.weekday() and h.opens <= time < h.closes:
                return True
        else:
            if h.weekday == day.weekday() and time >= h.opens:
                return True
            if h.weekday == yesterday and time < h.closes:
                return True
    return False


def crosses_midnight(opens: datetime.time, closes: datetime.time) -> bool:
    """An opening range that closes the next day (a night shop open 20:00-02:00)."""
    return closes <= opens


#: How far ahead "opens at …" looks for the next opening.
NEXT_OPENING_DAYS = 14


def next_opening(hours, closures, moment: datetime.datetime | None = None) -> datetime.datetime | None:
    """When a closed shop opens next (local time): weekly ``hours`` minus ``closures``, within two weeks, else None."""
    moment = timezone.localtime(moment or timezone.now())
    for offset in range(NEXT_OPENING_DAYS):
        day = moment.date() + datetime.timedelta(days=offset)
        if any(c.start_date <= day <= c.end_date for c in closures):
            continue
        starts = sorted(h.opens for h in hours if h.weekday == day.weekday())
        for opens in starts:
            start = timezone.make_aware(datetime.datetime.combine(day, opens), moment.tzinfo)
            if start > moment:
                return start
    return None


class OpeningHours(models.Model):
    """One opening range on a weekday; a day may have several (morning, afternoon)."""

    WEEKDAYS = [
        (0, _("lundi")),
        (1, _("mardi")),
        (2, _("mercredi")),
        (3, _("jeudi")),
        (4, _("vendredi")),
        (5, _("samedi")),
        (6, _("dimanche")),
    ]
    shop = models.ForeignKey(Shop, verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=WEEKDAYS)
    opens = models.TimeField(_("ouvre à"))
    #: Earlier than ``opens`` for a range that ends after midnight.
    closes = models.TimeField(_("ferme à"))

    class Meta:
        verbose_name = _("horaire d'ouverture")
        verbose_name_plural = _("horaires d'ouverture")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="openinghours_weekday_range"),
            models.CheckConstraint(condition=~models.Q(opens=models.F("closes")), name="openinghours_not_empty"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    """Days the shop is exceptionally closed (holidays, inventory…)."""

    shop = models.ForeignKey(Shop, verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="closures")
    start_date = models.DateField(_("du"))
    end_date = models.DateField(_("au"))
    reason = models.CharField(_("motif"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fermeture exceptionnelle")
        verbose_name_plural = _("fermetures exceptionnelles")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="closure_dates_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.start_date} → {self.end_date}"


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A named secret a shop's point-of-sale software uses; only its hash is stored."""

    shop = models.ForeignKey(Shop, verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nom"), max_length=100)
    #: Short public part shown in the admin to tell tokens apart.
    prefix = models.CharField(_("début du jeton"), max_length=12, editable=False)
    #: SHA-256 of the whole token.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("créé par"), null=True, blank=True, on_delete=models.SET_NULL
    )
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class StaffPick(models.Model):
    """A shop's "coup de cœur": a bookseller's short recommendation of a book."""

    shop = models.ForeignKey(Shop, verbose_name=_("librairie"), on_delete=models.CASCADE, related_name="picks")
    book = models.ForeignKey("catalogue.Book", verbose_name=_("livre"), on_delete=models.CASCADE, related_name="picks")
    text = models.TextField(_("recommandation"), max_length=1500)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rédigé par"), null=True, blank=True, on_delete=models.SET_NULL
    )
    signature = models.CharField(_("signature"), max_length=100, blank=True)
    is_published = models.BooleanField(_("publié"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("coup de cœur")
        verbose_name_plural = _("coups de cœur")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["shop", "book"], name="staffpick_unique_shop_book")]

    def __str__(self):
        return f"{self.shop.name} — {self.book}"
