"""Every figure checked against reservations made through the services, with known outcomes and dates."""

import csv
import datetime
import io
import zoneinfo

import pytest
from django.urls import reverse

from bookshops.models import Shop
from catalogue.models import Book, SearchMiss, StockImport
from figures.models import ShopMonth
from figures.selectors import OVER, Delay, Scope, percentile_minutes
from figures.services import figures_refresh
from reservations import services
from reservations.models import ReservationPause
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, reserve, staff_member

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URL = "/admin/figures/"


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def history():
    """Three shops; reservations whose outcome and dates are known (Europe/Paris)."""
    bordeaux = ShopFactory(
        name="Librairie Mollat", slug="mollat", town="Bordeaux", department="33", latitude=44.8412, longitude=-0.5750
    )
    dax = ShopFactory(
        name="Librairie Campus", slug="campus", town="Dax", department="40", latitude=43.7102, longitude=-1.0530
    )
    libourne = ShopFactory(
        name="Librairie Madison", slug="madison", town="Libourne", department="33", latitude=44.9153, longitude=-0.2435
    )
    book = BookFactory(title="Le Lièvre de Vatanen")
    other = BookFactory(title="Mémoires d'Hadrien")
    lines = {shop.slug: StockLineFactory(shop=shop, book=book, quantity=20) for shop in (bordeaux, dax, libourne)}
    hadrien = StockLineFactory(shop=bordeaux, book=other, quantity=20)
    n = iter(range(1000))

    def make(line=lines["mollat"], when=None, **kwargs):
        return reserve(line, reader_email=f"r{next(n)}@example.org", now=when, **kwargs)

    # January (Paris): 31 Jan 23:30 Paris is still January; confirmed after 90 min, collected 2 days later.
    jan = make(when=paris(2026, 1, 31, 23, 30))
    services.reservation_confirm(reservation=jan, now=paris(2026, 2, 1, 1, 0))
    services.reservation_collect(reservation=jan, now=paris(2026, 2, 3, 1, 0))
    # 28 Feb 23:30 UTC is 1 March 00:30 in Paris: a March reservation, expired without confirmation.
    march_expired = make(when=datetime.datetime(2026, 2, 28, 23, 30, tzinfo=datetime.UTC))
    services.reservation_expire(reservation=march_expired, now=paris(2026, 3, 20))
    # March: confirmed after 20 min, never collected.
    uncollected = make(when=paris(2026, 3, 2, 11, 0))
    services.reservation_confirm(reservation=uncollected, now=paris(2026, 3, 2, 11, 20))
    services.reservation_expire(reservation=uncollected, now=paris(2026, 4, 30))
    # March: one cancelled by the reader, one by the shop, one still waiting; a second title.
    by_reader = make(when=paris(2026, 3, 3, 10, 0))
    services.reservation_cancel(reservation=by_reader, reason="", by_reader=True, now=paris(2026, 3, 3, 12, 0))
    by_shop = make(when=paris(2026, 3, 4, 10, 0))
    services.reservation_cancel(reservation=by_shop, reason="abîmé", now=paris(2026, 3, 4, 12, 0))
    make(when=paris(2026, 3, 5, 10, 0))
    make(line=hadrien, when=paris(2026, 3, 5, 11, 0))
    # March: Mollat sends one reader to Campus (Dax); Madison books a customer at Mollat.
    moved = make(when=paris(2026, 3, 6, 10, 0))
    sent = services.reservation_move_to_shop(reservation=moved, shop=dax, now=paris(2026, 3, 6, 10, 30))
    services.reservation_confirm(reservation=sent, now=paris(2026, 3, 6, 18, 30))  # 8 h later
    make(when=paris(2026, 3, 7, 10, 0), referred_by_shop=libourne)
    # Madison, another shop of the same department: one collected reservation in March.
    mad = make(line=lines["madison"], when=paris(2026, 3, 9, 10, 0))
    services.reservation_confirm(reservation=mad, now=paris(2026, 3, 9, 10, 4))
    services.reservation_collect(reservation=mad, now=paris(2026, 3, 9, 17, 0))
    figures_refresh(now=paris(2026, 5, 1))
    return {"mollat": bordeaux, "campus": dax, "madison": libourne, "book": book, "other": other}


def scope(**kwargs):
    return Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 1), **kwargs)


def column(table, label):
    return [str(c) for c in table.columns].index(label)


def test_months_follow_paris_time_and_outcomes_are_counted(history):
    from figures.selectors import monthly_outcomes

    table = monthly_outcomes(scope(shops=[history["mollat"]]))
    by_month = {row[0]: row for row in table.rows}
    assert list(by_month) == [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)]
    # [month, created, collected, exp. unconfirmed, exp. uncollected, cancelled reader, cancelled shop, redirected, open]
    assert by_month[datetime.date(2026, 1, 1)][1:9] == [1, 1, 0, 0, 0, 0, 0, 0]
    assert by_month[datetime.date(2026, 2, 1)][1:9] == [0] * 8
    assert by_month[datetime.date(2026, 3, 1)][1:9] == [8, 0, 1, 1, 1, 1, 1, 3]
    # Network average per shop in March: 8 (Mollat) + 1 (Campus, the redirected one) + 1 (Madison) over 3 shops.
    assert by_month[datetime.date(2026, 3, 1)][9] == round(10 / 3, 1)


def test_per_shop_outcomes_and_rates(history):
    from figures.selectors import shop_outcomes

    table = shop_outcomes(scope())
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {"Librairie Mollat", "Librairie Campus", "Librairie Madison"}
    mollat = rows["Librairie Mollat"]
    assert mollat[2] == 9
    assert mollat[column(table, "retirées")] == 1 and round(float(mollat[column(table, "retirées (taux)")]), 1) == 11.1
    assert mollat[column(table, "envoyées chez un confrère")] == 1
    assert table.footer[0][2] == 11  # the network's total


def test_delays_are_the_histogram_buckets(history):
    from figures.selectors import shop_delays

    table = shop_delays(scope())
    rows = {row[0]: row for row in table.rows}
    # Mollat confirmed twice: after 90 min (January) and 20 min (March) -> median in the 30-min bucket.
    assert rows["Librairie Mollat"][1] == 2
    assert rows["Librairie Mollat"][2] == 30 and rows["Librairie Mollat"][3] == 90
    # Collected 2 days after confirmation: the 2-day bucket.
    assert rows["Librairie Mollat"][4] == 1 and rows["Librairie Mollat"][5] == 2 * 1440
    assert rows["Librairie Campus"][2] == 480  # confirmed 8 h after the transfer
    assert rows["Librairie Madison"][2] == 5
    assert table.footer[0][1] == 4


def test_percentiles_of_a_histogram():
    assert percentile_minutes({}, 0.5) is None
    assert percentile_minutes({0: 1, 5: 1}, 0.5) == 5 and percentile_minutes({0: 1, 5: 1}, 0.9) == 60
    assert percentile_minutes({21: 3}, 0.5) is OVER
    assert str(Delay(120)) == "≤ 2 h" and str(OVER).startswith("> 14")


def test_referrals_from_and_to(history):
    from figures.selectors import referrals

    rows = referrals(scope()).rows
    assert sorted(rows) == [["Librairie Madison", "Librairie Mollat", 1], ["Librairie Mollat", "Librairie Campus", 1]]
    assert referrals(scope(shops=[history["campus"]])).rows == [["Librairie Mollat", "Librairie Campus", 1]]


def test_wanted_titles_and_unheld_nearby(history):
    from figures.selectors import wanted_titles, wanted_unheld_nearby

    top = wanted_titles(scope()).rows
    # The redirected request counts once (at Campus, where it went on). [title, ISBN, reserved, ordered, alerted, all]
    assert top[0] == ["Le Lièvre de Vatanen", history["book"].isbn, 9, 0, 0, 9] and top[1][2] == 1
    assert wanted_titles(scope(department="40")).rows == [["Le Lièvre de Vatanen", history["book"].isbn, 1, 0, 0, 1]]
    assert wanted_unheld_nearby(scope()).rows == []
    # Mollat and Madison (30 km apart) run out of Hadrien and of Vatanen; Dax (over 100 km) still has Vatanen.
    from catalogue.models import StockLine

    StockLine.objects.filter(shop__in=[history["mollat"], history["madison"]]).update(quantity=0, held=0)
    rows = {row[0]: row for row in wanted_unheld_nearby(scope()).rows}
    assert rows["Le Lièvre de Vatanen"][3] == 8 and rows["Le Lièvre de Vatanen"][4] == "Bordeaux, Libourne"
    assert rows["Mémoires d'Hadrien"][3] == 1


def test_search_misses_grouped_and_counted(history):
    from catalogue.search import search_miss_record
    from figures.selectors import search_misses

    for query in ["dune", "dune", "=HYPERLINK(1)", "dune"]:
        search_miss_record(query=query)
    SearchMiss.objects.update(last_seen_at=paris(2026, 3, 10))
    rows = search_misses(scope()).rows
    assert [row[:2] for row in rows] == [["dune", 3], ["=HYPERLINK(1)", 1]]
    assert search_misses(Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 2, 1))).rows == []


def test_stock_freshness_flags_stale_shops(history):
    from figures.selectors import stock_freshness

    now = paris(2026, 5, 1)
    Shop.objects.filter(pk=history["mollat"].pk).update(stock_reported_at=now - datetime.timedelta(days=2))
    Shop.objects.filter(pk=history["campus"].pk).update(stock_reported_at=now - datetime.timedelta(days=30))
    StockImport.objects.create(shop=history["mollat"], status=StockImport.Status.APPLIED, updated_count=3)
    table = stock_freshness(scope(), now=now)
    flags = {row[0]: row[3] for row in table.rows}
    assert flags == {"Librairie Mollat": "", "Librairie Campus": "oui", "Librairie Madison": "oui"}
    assert table.rows[-1][0] == "Librairie Mollat" and table.rows[-1][2] is not None
    assert table.footer[0][3] == 2


def test_catalogue_counts(history):
    from figures.selectors import catalogue_figures

    Book.objects.filter(pk=history["other"].pk).update(availability=Book.Availability.OUT_OF_PRINT)
    figures_refresh(now=paris(2026, 5, 1))
    rows = catalogue_figures(scope(shops=[history["mollat"]])).rows
    # [label, network, Mollat]: 2 titles; 4 lines; Hadrien only at Mollat, out of print but on its shelf.
    assert [row[1:] for row in rows] == [[2, 2], [4, 2], [1, 1], [1, 1]]


def test_typical_confirmation_delay_needs_history(history, settings):
    history["mollat"].refresh_from_db()
    assert history["mollat"].typical_confirm_minutes is None  # two confirmations only
    settings.FIGURES_TYPICAL_DELAY_MIN_COUNT = 2
    figures_refresh(now=paris(2026, 5, 1))
    history["mollat"].refresh_from_db()
    assert history["mollat"].typical_confirm_minutes == 30


def test_refresh_rebuilds_only_recent_months(history):
    assert ShopMonth.objects.filter(month=datetime.date(2026, 1, 1)).exists()
    ShopMonth.objects.filter(month=datetime.date(2026, 1, 1)).update(created=99)
    figures_refresh(now=paris(2026, 4, 10))  # March and April
    assert ShopMonth.objects.get(month=datetime.date(2026, 1, 1)).created == 99
    figures_refresh(since=datetime.date(2026, 1, 1), now=paris(2026, 4, 10))
    assert ShopMonth.objects.get(month=datetime.date(2026, 1, 1)).created == 1


# --- The page, its scoping and its CSV ------------------------------------------------------------


def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


QUERY = {"start": "2026-01", "end": "2026-03"}


def test_association_sees_the_network(client, history):
    client.force_login(superuser())
    page = client.get(URL, QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("Librairie Mollat", "Librairie Campus", "Librairie Madison"):
        assert name in html
    figures = html.split('<div id="figures">')[1]
    assert figures.count('<svg class="chart"') == 5 and "<script" not in figures and "style=" not in figures


def test_staff_see_their_shop_and_the_network_average_only(client, history):
    client.force_login(staff_member(history["madison"]))
    html = client.get(URL, QUERY).content.decode()
    assert "Librairie Madison" in html and "Moyenne du réseau" in html
    # Mollat appears only where it dealt with Madison (the customer Madison sent there).
    body = html.split('id="table-par-librairie"')[1].split("</table>")[0]
    assert "Librairie Mollat" not in body and "Librairie Campus" not in body
    assert "Librairie Campus" not in html


@pytest.mark.parametrize("forged", [{"shop": "OTHER"}, {"shop": "OTHER", "csv": "par-librairie"}])
def test_forged_shop_parameter_is_refused(client, history, forged):
    client.force_login(staff_member(history["madison"]))
    params = {**QUERY, **{k: (history["mollat"].pk if v == "OTHER" else v) for k, v in forged.items()}}
    response = client.get(URL, params)
    assert response.status_code == 400
    assert "Librairie Mollat" not in response.content.decode().split('id="figures"')[1].split("</select>")[-1]


def test_readers_and_staff_of_no_shop_are_refused(client, history):
    assert client.get(URL).status_code == 302  # to the admin login
    client.force_login(UserFactory(is_staff=True))
    assert client.get(URL).status_code == 403
    assert client.post(reverse("figures:refresh")).status_code == 403


@pytest.mark.parametrize(
    "bad",
    [
        {"start": "2026-13"},
        {"start": "2026-04", "end": "2026-01"},
        {"start": "1990-01"},
        {"department": "<script>"},
        {"start": "\x00"},
    ],
)
def test_bad_filters_give_a_clear_error(client, history, bad):
    client.force_login(superuser())
    response = client.get(URL, {**QUERY, **bad})
    # A NUL byte is refused before the view (portal.middleware), everything else by the form.
    assert response.status_code == 400
    assert (
        "\x00" in bad.get("start", "")
        or 'class="errorlist"' in response.content.decode()
        or "errornote" in response.content.decode()
    )


def test_csv_export_of_each_table(client, history):
    client.force_login(superuser())
    SearchMiss.objects.create(query="=cmd|' /C calc'!A0")
    response = client.get(URL, {**QUERY, "csv": "par-librairie"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="par-librairie-2026-01-2026-03.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["librairie", "département", "réservations"]
    mollat = next(row for row in rows if row[0] == "Librairie Mollat")
    assert mollat[2] == "9" and mollat[4] == "11.1"
    assert rows[-1][0] == "Réseau (total)" and rows[-1][2] == "11"
    months = list(
        csv.reader(
            io.StringIO(client.get(URL, {**QUERY, "csv": "par-mois"}).content.decode("utf-8-sig")), delimiter=";"
        )
    )
    assert [row[0] for row in months[1:]] == ["2026-01", "2026-02", "2026-03"]
    misses = client.get(URL, {"csv": "recherches-sans-resultat"}).content.decode("utf-8-sig")
    assert "'=cmd" in misses  # not a formula in a spreadsheet
    assert client.get(URL, {"csv": "nope"}).status_code == 404


def test_staff_csv_has_no_other_shop(client, history):
    client.force_login(staff_member(history["campus"]))
    text = client.get(URL, {**QUERY, "csv": "par-librairie"}).content.decode("utf-8-sig")
    assert "Librairie Campus" in text and "Librairie Mollat" not in text and "Librairie Madison" not in text


def test_refresh_button(client, history):
    client.force_login(superuser())
    response = client.post(reverse("figures:refresh"))
    assert response.status_code == 302
    assert client.get(URL).status_code == 200


def test_admin_home_links_to_the_figures(client, history):
    client.force_login(staff_member(history["campus"]))
    assert reverse("figures:index") in client.get(reverse("admin:index") + "?apps=1").content.decode()


def test_pauses_are_listed_in_the_figures(history):
    from figures.selectors import pauses

    ReservationPause.objects.create(
        shop=None, starts_at=paris(2026, 3, 20), ends_at=paris(2026, 3, 25), message="Grève des transports"
    )
    ReservationPause.objects.create(
        shop=history["mollat"], starts_at=paris(2026, 2, 1), ends_at=paris(2026, 2, 8), message="Inventaire"
    )
    assert [row[0] for row in pauses(scope()).rows] == ["Librairie Mollat", "tout le réseau"]
    assert [row[0] for row in pauses(scope(shops=[history["campus"]])).rows] == ["tout le réseau"]


def test_refresh_command(history):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("refresh_figures", "--since", "2026-01", stdout=out)
    assert "depuis 2026-01" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("refresh_figures", "--since", "janvier")


# --- What the refresh writes for the default period, and the page's long tables ------------------


def test_the_default_period_reads_what_the_refresh_wrote_and_gives_the_same_figures(history):
    from figures import selectors
    from figures.models import DelayPeriod, DemandPeriod

    def spring():
        return Scope(start=datetime.date(2025, 6, 1), end=datetime.date(2026, 5, 1))

    from catalogue.models import StockLine

    StockLine.objects.filter(shop__in=[history["mollat"], history["madison"]]).update(quantity=0, held=0)
    live = [selectors.FIGURES[name](spring()).rows for name in ("delais", "titres", "demandes-sans-stock-proche")]
    figures_refresh(since=datetime.date(2026, 1, 1), now=paris(2026, 5, 20))  # default period: June 2025 to May 2026
    assert DelayPeriod.objects.filter(start=datetime.date(2025, 6, 1), end=datetime.date(2026, 5, 1)).exists()
    assert set(DemandPeriod.objects.values_list("place", flat=True)) == {"Bordeaux", "Dax", "Libourne"}
    written = [selectors.FIGURES[name](spring()).rows for name in ("delais", "titres", "demandes-sans-stock-proche")]
    assert written == live and live[2]
    # Those rows are what is read: the reservations themselves are not.
    DelayPeriod.objects.filter(shop=history["madison"]).update(bucket=len(selectors.DELAY_EDGES_MINUTES))
    DemandPeriod.objects.filter(place="Libourne").update(count=50)
    rows = {row[0]: row for row in selectors.shop_delays(spring()).rows}
    assert rows["Librairie Madison"][2] is selectors.OVER
    assert {row[0]: row[3] for row in selectors.wanted_unheld_nearby(spring()).rows}["Le Lièvre de Vatanen"] == 57
    # A department's readers only; another period is read from the months.
    department = Scope(start=datetime.date(2025, 6, 1), end=datetime.date(2026, 5, 1), department="40")
    assert selectors.wanted_unheld_nearby(department).rows == []
    assert selectors.shop_delays(scope()).rows[0][0] == "Librairie Mollat"


def test_the_page_reads_only_its_rows_of_the_long_tables(history):
    from figures import selectors

    page = scope(limit=1)
    table = selectors.referrals(page)
    assert len(table.rows) == 1 and table.more == 1 and table.footer[0][2] == 2
    outcomes = selectors.shop_outcomes(page)
    assert [row[0] for row in outcomes.rows] == ["Librairie Mollat"] and outcomes.more == 2
    assert outcomes.footer[0][2] == 11  # the total is the whole network's
    assert len(selectors.shop_outcomes(scope()).rows) == 3
