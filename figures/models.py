"""Summary tables of the network's activity, rebuilt from the reservations by ``figures_refresh``.

The page reads these (thousands of rows) instead of the reservations (millions). A month is a
calendar month in the portal's time zone (Europe/Paris); a reservation counts in the month it was made.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

#: Upper edges (minutes) of the delay histograms; a last bucket holds everything longer.
DELAY_EDGES_MINUTES = (
    5,
    10,
    15,
    30,
    45,
    60,
    90,
    120,
    180,
    240,
    360,
    480,
    720,
    1440,
    2 * 1440,
    3 * 1440,
    4 * 1440,
    5 * 1440,
    7 * 1440,
    10 * 1440,
    14 * 1440,
)


class Kind(models.TextChoices):
    """What readers asked for: a copy on a shelf, a book ordered through a shop, a copy to come near."""

    RESERVATION = "reservation", _("réservation")
    ORDER = "order", _("commande")
    ALERT = "alert", _("alerte")


class ShopMonth(models.Model):
    """One shop's reservations made in one month, by how they ended."""

    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    created = models.PositiveIntegerField(default=0)
    collected = models.PositiveIntegerField(default=0)
    expired_unconfirmed = models.PositiveIntegerField(default=0)
    expired_uncollected = models.PositiveIntegerField(default=0)
    cancelled_reader = models.PositiveIntegerField(default=0)
    cancelled_shop = models.PositiveIntegerField(default=0)
    redirected = models.PositiveIntegerField(default=0)
    #: Still requested or waiting at the shop when the figures were refreshed.
    open = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "month"], name="shopmonth_unique")]
        indexes = [models.Index(fields=["month"], name="shopmonth_month")]


class DelayMonth(models.Model):
    """How many reservations of a shop and month took a delay within one histogram bucket."""

    class Measure(models.TextChoices):
        CONFIRM = "confirm", _("mise de côté")
        COLLECT = "collect", _("retrait")

    measure = models.CharField(max_length=8, choices=Measure.choices)
    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    #: Index in ``DELAY_EDGES_MINUTES``; ``len(DELAY_EDGES_MINUTES)`` for longer.
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "measure"], name="delaymonth_month")]


class ReferralMonth(models.Model):
    """Customers one shop sent to another in a month (counter bookings and redirected reservations)."""

    month = models.DateField()
    from_shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    to_shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month"], name="referralmonth_month")]


class BookMonth(models.Model):
    """How often a title was asked for in a month and department (a redirected request counts once)."""

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.RESERVATION)
    book = models.ForeignKey("catalogue.Book", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    department = models.CharField(max_length=3, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        # Covering on PostgreSQL: the year's top titles are read from the index alone.
        indexes = [models.Index(fields=["month", "department"], include=["book", "count"], name="bookmonth_month")]


class OrderMonth(models.Model):
    """One shop's orders made in one month, by how they ended."""

    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    created = models.PositiveIntegerField(default=0)
    #: The reader never followed the link of the first e-mail: the shop never saw the order.
    unconfirmed = models.PositiveIntegerField(default=0)
    collected = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    cancelled_reader = models.PositiveIntegerField(default=0)
    cancelled_shop = models.PositiveIntegerField(default=0)
    #: Arrived at the shop, never collected.
    expired_uncollected = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "month"], name="ordermonth_unique")]
        indexes = [models.Index(fields=["month"], name="ordermonth_month")]


class AlertMonth(models.Model):
    """Alerts asked for in one month: at one chosen shop, or (no shop) around the reader's own position."""

    shop = models.ForeignKey("bookshops.Shop", null=True, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    created = models.PositiveIntegerField(default=0)
    #: The reader never confirmed their address.
    unconfirmed = models.PositiveIntegerField(default=0)
    fulfilled = models.PositiveIntegerField(default=0)
    unsubscribed = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    #: Confirmed, still waiting for a copy when the figures were refreshed.
    watching = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month"], name="alertmonth_month")]


class BookPeriod(models.Model):
    """The most-wanted titles of the page's default period (the last twelve months), ranked by the refresh.

    The page reads these few rows instead of summing ``BookMonth`` (about one row per request) over the year;
    another period is summed from ``BookMonth``.
    """

    start = models.DateField()
    end = models.DateField()
    #: Empty: the whole network.
    department = models.CharField(max_length=3, blank=True)
    book = models.ForeignKey("catalogue.Book", on_delete=models.CASCADE, related_name="+")
    reservations = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["start", "end", "department", "-total"], name="bookperiod_rank")]


class DelayPeriod(models.Model):
    """``DelayMonth`` summed over the page's default period by the refresh: one histogram per shop and measure."""

    start = models.DateField()
    end = models.DateField()
    measure = models.CharField(max_length=8, choices=DelayMonth.Measure.choices)
    shop = models.ForeignKey("bookshops.Shop", on_delete=models.CASCADE, related_name="+")
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["start", "end", "measure"], name="delayperiod_period")]


class DemandPeriod(models.Model):
    """Where the readers of the default period's most-wanted titles are, for the 30 km check.

    A place is a shop's (reservations, orders, alerts at a chosen shop) or an alert's own point.
    """

    start = models.DateField()
    end = models.DateField()
    book = models.ForeignKey("catalogue.Book", on_delete=models.CASCADE, related_name="+")
    latitude = models.FloatField()
    longitude = models.FloatField()
    #: The shop's town, or the place the reader gave.
    place = models.CharField(max_length=200, blank=True)
    #: The shop's department; empty for a reader's own position.
    department = models.CharField(max_length=3, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["start", "end", "book"], name="demandperiod_book")]


class Refresh(models.Model):
    """One run of ``figures_refresh``, with the catalogue's counts at that moment."""

    finished_at = models.DateTimeField(_("calculés le"))
    since = models.DateField()
    duration_ms = models.PositiveIntegerField(default=0)
    titles = models.PositiveIntegerField(default=0)
    stock_lines = models.PositiveIntegerField(default=0)
    single_holder_titles = models.PositiveIntegerField(default=0)
    out_of_print_on_shelf = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("calcul des chiffres")
        verbose_name_plural = _("calculs des chiffres")
        get_latest_by = "finished_at"
