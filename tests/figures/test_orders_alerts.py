"""Orders and alerts in the figures: made through the ``orders`` services with known outcomes and dates."""

import csv
import datetime
import io
import re
import zoneinfo

import pytest

from bookshops.location import ReaderLocation
from figures.selectors import ALERTS, ORDERS, Scope, monthly_outcomes, shop_outcomes, wanted_titles
from figures.selectors import wanted_unheld_nearby as unheld
from figures.services import figures_refresh
from orders import services
from orders.models import Order
from tests.factories import BookFactory, ShopFactory, StockLineFactory, UserFactory, staff_member
from tests.reservations.conftest import _fresh_rate_limits  # noqa: F401 - the same fixture

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URL = "/admin/figures/"
QUERY = {"start": "2026-01", "end": "2026-03"}
BAYONNE = ReaderLocation(lat=43.4929, lon=-1.4748, label="Bayonne", radius_km=30)
NEAR_DAX = ReaderLocation(lat=43.72, lon=-1.06, label="Dax", radius_km=30)


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


def scope(**kwargs):
    return Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 1), **kwargs)


@pytest.fixture
def activity(django_capture_on_commit_callbacks):
    """Two shops; orders and alerts whose outcome and dates (Europe/Paris) are known."""
    mollat = ShopFactory(
        name="Librairie Mollat", slug="mollat", town="Bordeaux", department="33", latitude=44.8412, longitude=-0.5750
    )
    campus = ShopFactory(
        name="Librairie Campus", slug="campus", town="Dax", department="40", latitude=43.7102, longitude=-1.0530
    )
    rare = BookFactory(title="L'Usage du monde")
    common = BookFactory(title="Le Lièvre de Vatanen")
    StockLineFactory(shop=campus, book=common, quantity=3)
    n = iter(range(1000))

    def made(when, shop=mollat, book=rare):
        return services.order_request(
            book=book, shop=shop, quantity=1, reader_name="Jeanne", reader_email=f"o{next(n)}@example.org", now=when
        )

    def confirmed(when, **kwargs):
        order = made(when, **kwargs)
        return services.order_confirm_address(token=order.confirm_token(), now=when + datetime.timedelta(hours=1))

    def alert(when, *, confirm=True, book=rare, **kwargs):
        alert = services.alert_request(book=book, reader_email=f"a{next(n)}@example.org", now=when, **kwargs)
        if confirm:
            token = re.search(r"/alerts/confirm/([^/]+)/", alert.confirm_url()).group(1)
            services.alert_confirm(token=token, now=when + datetime.timedelta(hours=1))
        return alert

    with django_capture_on_commit_callbacks(execute=True):
        # 31 January 23:30 in Paris is still January: ordered, arrived, collected.
        jan = confirmed(paris(2026, 1, 31, 23, 30))
        services.order_accept(order=jan, expected_on=datetime.date(2026, 2, 4), now=paris(2026, 2, 1, 10))
        services.order_arrive(order=jan, now=paris(2026, 2, 4, 10))
        services.order_collect(order=jan, now=paris(2026, 2, 5, 10))
        # 28 February 23:30 UTC is 1 March 00:30 in Paris: a March order whose address was never confirmed.
        made(datetime.datetime(2026, 2, 28, 23, 30, tzinfo=datetime.UTC))
        services.orders_expire_due(now=paris(2026, 3, 5))
        # March: one declined, one cancelled by the reader, one arrived and never collected, one still waiting.
        services.order_decline(order=confirmed(paris(2026, 3, 2, 10)), reason="épuisé", now=paris(2026, 3, 3, 10))
        services.order_cancel_by_reader(order=confirmed(paris(2026, 3, 3, 10)), now=paris(2026, 3, 4, 10))
        late = confirmed(paris(2026, 3, 4, 10))
        services.order_arrive(order=late, now=paris(2026, 3, 6, 10))
        services.orders_expire_due(now=paris(2026, 3, 31, 10))
        confirmed(paris(2026, 3, 20, 10))
        # Campus, another department: one collected order in March.
        theirs = confirmed(paris(2026, 3, 9, 10), shop=campus, book=common)
        services.order_arrive(order=theirs, now=paris(2026, 3, 10, 10))
        services.order_collect(order=theirs, now=paris(2026, 3, 11, 10))
        # Alerts in March: a reader in Bayonne still waiting for the rare book (no shop has it); one at
        # Mollat unsubscribed; one at Mollat never confirmed; one near Dax fulfilled at once (Campus has it).
        alert(paris(2026, 3, 10, 10), location=BAYONNE)
        services.alert_unsubscribe(
            token=re.search(
                r"/unsubscribe/([^/]+)/", alert(paris(2026, 3, 11, 10), shop=mollat).unsubscribe_url()
            ).group(1),
            now=paris(2026, 3, 12, 10),
        )
        alert(paris(2026, 3, 12, 10), shop=mollat, confirm=False)
        alert(paris(2026, 3, 13, 10), location=NEAR_DAX, book=common)
    figures_refresh(now=paris(2026, 3, 31, 12))
    return {"mollat": mollat, "campus": campus, "rare": rare, "common": common}


def by_month(table):
    return {row[0]: row[1:] for row in table.rows}


def test_orders_per_month_follow_paris_time_with_their_outcomes(activity):
    months = by_month(monthly_outcomes(scope(shops=[activity["mollat"]]), ORDERS))
    # [orders, address never confirmed, collected, declined, cancelled reader, cancelled shop, uncollected, open,
    #  the network's average per shop]
    assert months[datetime.date(2026, 1, 1)] == [1, 0, 1, 0, 0, 0, 0, 0, 1]
    assert months[datetime.date(2026, 2, 1)] == [0] * 8 + [0]
    assert months[datetime.date(2026, 3, 1)] == [5, 1, 0, 1, 1, 0, 1, 1, 3]
    assert Order.objects.filter(status=Order.Status.EXPIRED).count() == 2


def test_orders_per_shop_with_rates_and_the_network_total(activity):
    table = shop_outcomes(scope(), ORDERS)
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {"Librairie Mollat", "Librairie Campus"}
    assert rows["Librairie Mollat"][2] == 6 and rows["Librairie Campus"][2:5] == [1, 0, 0]
    collected = [str(c) for c in table.columns].index("retirées")
    assert rows["Librairie Campus"][collected] == 1 and float(rows["Librairie Campus"][collected + 1]) == 100
    assert table.footer[0][2] == 7
    assert table.name == "commandes-par-librairie"


def test_alerts_per_month_and_per_chosen_shop(activity):
    march = by_month(monthly_outcomes(scope(), ALERTS))[datetime.date(2026, 3, 1)]
    # [alerts, never confirmed, fulfilled, unsubscribed, expired, watching]
    assert march == [4, 1, 1, 1, 0, 1]
    rows = {row[0]: row[2:] for row in shop_outcomes(scope(), ALERTS).rows}
    assert rows["Librairie Mollat"][0] == 2
    assert rows["autour du lecteur (sans librairie choisie)"][0] == 2
    # Mollat's staff see the alerts that chose Mollat, not those around a reader's position.
    mine = by_month(monthly_outcomes(scope(shops=[activity["mollat"]]), ALERTS))[datetime.date(2026, 3, 1)]
    assert mine[:6] == [2, 1, 0, 1, 0, 0]


def test_alerts_expire_in_the_figures(activity):
    services.alerts_expire_due(now=paris(2026, 10, 1))
    figures_refresh(since=datetime.date(2026, 3, 1), now=paris(2026, 10, 1))
    march = by_month(monthly_outcomes(scope(), ALERTS))[datetime.date(2026, 3, 1)]
    assert march == [4, 0, 1, 1, 2, 0]


def test_wanted_titles_count_orders_and_alerts(activity):
    rows = {row[0]: row[2:] for row in wanted_titles(scope()).rows}
    # [reserved, ordered (address confirmed), alerted (confirmed), all]: the unconfirmed ones asked for nothing.
    assert rows["L'Usage du monde"] == [0, 5, 2, 7]
    assert rows["Le Lièvre de Vatanen"] == [0, 1, 1, 2]
    assert {row[0]: row[2:] for row in wanted_titles(scope(department="40")).rows} == {
        "Le Lièvre de Vatanen": [0, 1, 0, 1]
    }


def test_the_default_period_is_ranked_by_the_refresh_and_read_the_same(activity):
    from figures.models import BookPeriod

    figures_refresh(now=paris(2026, 12, 15))  # the default period is then January to December 2026
    assert BookPeriod.objects.filter(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 1)).exists()

    def year():
        return Scope(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 1))

    assert {row[0]: row[2:] for row in wanted_titles(year()).rows}["L'Usage du monde"] == [0, 5, 2, 7]
    BookPeriod.objects.update(orders=99)  # what is read is the ranked table
    assert {row[0]: row[2:] for row in wanted_titles(year()).rows}["L'Usage du monde"][1] == 99
    # Another period is summed from the months.
    spring = Scope(start=datetime.date(2026, 2, 1), end=datetime.date(2026, 12, 1))
    assert {row[0]: row[2:] for row in wanted_titles(spring).rows}["L'Usage du monde"] == [0, 4, 2, 6]


def test_wanted_titles_no_shop_within_30_km_holds_use_the_alerts_position(activity):
    rows = {row[0]: row for row in unheld(scope()).rows}
    # The rare book: 5 orders and an alert at Mollat (Bordeaux), the Bayonne reader's alert; nobody holds it.
    assert rows["L'Usage du monde"][3] == 7 and rows["L'Usage du monde"][4] == "Bayonne, Bordeaux"
    # Vatanen: ordered at Campus and alerted near Dax, where Campus has copies.
    assert "Le Lièvre de Vatanen" not in rows
    StockLineFactory(shop=activity["mollat"], book=activity["rare"], quantity=2)
    rows = {row[0]: row for row in unheld(scope()).rows}
    assert rows["L'Usage du monde"][3] == 1 and rows["L'Usage du monde"][4] == "Bayonne"


def test_staff_never_see_another_shops_orders_or_alerts(client, activity):
    client.force_login(staff_member(activity["campus"]))
    html = client.get(URL, QUERY).content.decode()
    assert "Librairie Campus" in html and "Librairie Mollat" not in html
    assert "L'Usage du monde" not in html.split('id="table-titres"')[1].split("</table>")[0]
    for name in ("commandes-par-librairie", "alertes-par-librairie", "titres"):
        exported = client.get(URL, {**QUERY, "csv": name}).content.decode("utf-8-sig")
        assert "Mollat" not in exported and "autour du lecteur" not in exported


def test_orders_and_alerts_export_as_csv(client, activity):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(URL, {**QUERY, "csv": "commandes-par-mois"})
    assert response["Content-Disposition"] == 'attachment; filename="commandes-par-mois-2026-01-2026-03.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["mois", "commandes", "adresse jamais confirmée"]
    assert rows[1][:3] == ["2026-01", "1", "0"] and rows[3][:2] == ["2026-03", "6"]
    rows = list(
        csv.reader(
            io.StringIO(client.get(URL, {**QUERY, "csv": "alertes-par-librairie"}).content.decode("utf-8-sig")),
            delimiter=";",
        )
    )
    assert rows[-1][:3] == ["Réseau (total)", "", "4"]
    page = client.get(URL, QUERY).content.decode()
    assert 'id="table-commandes-par-mois"' in page and 'id="table-alertes-par-librairie"' in page
