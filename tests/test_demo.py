import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import RequestFactory
from stdnum import isbn as stdnum_isbn

from bookshops.models import OpeningHours, Shop
from bookshops.services import BOOKSELLERS_GROUP as STAFF_GROUP
from bookshops.services import booksellers_group_sync
from catalogue.models import Book, StockImport, StockLine
from demo.services import ADMIN_PASSWORD, STAFF_PASSWORD, demo_load
from reservations.models import Reservation

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return demo_load(books=400)


def test_demo_counts(demo):
    assert demo.shops == Shop.objects.count() == 40
    assert set(Shop.objects.values_list("department", flat=True)) == {"24", "33", "40", "47", "64"}
    assert demo.onix_books >= 20
    assert demo.generated_books == 400
    assert Book.objects.count() == 400 + demo.onix_books
    assert StockImport.objects.filter(status=StockImport.Status.APPLIED).count() == 40
    assert StockLine.objects.filter(quantity__gt=0).count() == demo.stock_lines
    assert all(stdnum_isbn.is_valid(isbn) for isbn in Book.objects.values_list("isbn", flat=True))
    # Real ONIX titles are in the catalogue and on shelves.
    otsuka = Book.objects.get(isbn="9782752908643")
    assert otsuka.publisher == "Phébus" and otsuka.stock_lines.filter(quantity__gt=0).exists()


def test_stock_spread(demo):
    holders = Book.objects.annotate(n=Count("stock_lines", filter=Q(stock_lines__quantity__gt=0)))
    counts = sorted(holders.values_list("n", flat=True))
    assert counts[0] == 1 and counts[-1] >= 20  # rare titles in one shop, bestsellers in many
    out_of_print = holders.filter(availability=Book.Availability.OUT_OF_PRINT, isbn__startswith="979109")
    assert out_of_print.exists()
    assert set(out_of_print.values_list("n", flat=True)) == {1}


def test_shops_have_real_coordinates_and_hours(demo):
    pau = Shop.objects.get(town="Pau")
    assert (round(pau.latitude, 2), round(pau.longitude, 2)) == (43.31, -0.36)
    for shop in Shop.objects.all():
        assert 42.9 < shop.latitude < 45.8 and -1.8 < shop.longitude < 1.5
    days = set(OpeningHours.objects.filter(shop=pau).values_list("weekday", flat=True))
    assert {1, 2, 3, 4, 5} <= days and 6 not in days
    assert OpeningHours.objects.filter(weekday=0).values("shop").distinct().count() >= 10
    assert OpeningHours.objects.filter(weekday=2).count() == 80  # morning and afternoon everywhere


def test_staff_user_belongs_to_exactly_its_shop(demo, client):
    shop = Shop.objects.get(town="Bayonne")
    user = get_user_model().objects.get(username=shop.slug)
    assert list(Shop.objects.for_user(user)) == [shop]
    assert set(StockLine.objects.for_user(user).values_list("shop", flat=True)) == {shop.pk}
    assert user.is_staff and not user.is_superuser
    assert user.groups.filter(name=STAFF_GROUP).exists()
    assert user.has_perm("catalogue.add_stockimport") and user.has_perm("bookshops.change_shop")
    assert not user.has_perm("bookshops.add_shop") and not user.has_perm("catalogue.change_book")
    assert client.login(request=RequestFactory().get("/"), username=shop.slug, password=STAFF_PASSWORD)
    assert client.login(request=RequestFactory().get("/"), username="admin", password=ADMIN_PASSWORD)
    assert get_user_model().objects.get(username="admin").is_superuser


def test_group_setup_picks_up_every_reservations_model():
    from django.apps import apps

    group = booksellers_group_sync()
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    for model in apps.get_app_config("reservations").get_models():
        assert ("reservations", f"view_{model._meta.model_name}") in codenames
        assert ("reservations", f"change_{model._meta.model_name}") in codenames
    assert ("bookshops", "delete_staffpick") in codenames
    assert booksellers_group_sync().permissions.count() == group.permissions.count()  # idempotent


def test_load_demo_if_empty_is_idempotent(capsys):
    call_command("load_demo", "--if-empty", "--books", "100")
    first = capsys.readouterr().out
    assert "admin / demo-admin-2026" in first and "DÉMONSTRATION" in first
    counts = (Shop.objects.count(), Book.objects.count(), StockLine.objects.count(), get_user_model().objects.count())
    call_command("load_demo", "--if-empty", "--books", "100")
    second = capsys.readouterr().out
    assert "non chargées" in second
    assert "admin / demo-admin-2026" in second, "scripts/dev reminds the logins on every start"
    assert (
        Shop.objects.count(),
        Book.objects.count(),
        StockLine.objects.count(),
        get_user_model().objects.count(),
    ) == counts


def test_demo_is_deterministic():
    demo_load(books=50)
    first = list(Book.objects.filter(isbn__startswith="979109").order_by("isbn").values_list("isbn", "title"))
    lines = sorted(StockLine.objects.values_list("shop__slug", "book__isbn", "quantity"))
    Reservation.objects.all().delete()  # the demo's year of history
    Shop.objects.all().delete()
    Book.objects.all().delete()
    get_user_model().objects.all().delete()
    demo_load(books=50)
    assert list(Book.objects.filter(isbn__startswith="979109").order_by("isbn").values_list("isbn", "title")) == first
    assert sorted(StockLine.objects.values_list("shop__slug", "book__isbn", "quantity")) == lines


def test_generated_titles_are_distinct(demo):
    titles = list(Book.objects.filter(isbn__startswith="979109").values_list("title", flat=True))
    assert len(titles) == 400 and len(set(titles)) == 400


def test_booksellers_group_command_in_production(capsys):
    """Production has no demo: the command alone creates the group, and running it again changes nothing."""
    from django.contrib.auth.models import Group

    assert not Group.objects.filter(name=STAFF_GROUP).exists()
    call_command("sync_booksellers_group")
    group = Group.objects.get(name=STAFF_GROUP)
    first = set(group.permissions.values_list("codename", flat=True))
    assert {"add_stockimport", "change_shop", "view_reservation"} <= first
    group.permissions.clear()
    call_command("sync_booksellers_group")
    assert set(group.permissions.values_list("codename", flat=True)) == first
    assert "permissions" in capsys.readouterr().out


def test_demo_has_a_year_of_history(demo):
    import datetime

    from django.utils import timezone

    from figures.models import ShopMonth

    S = Reservation.Status
    assert demo.reservations >= 150
    months = {}
    for created_at in Reservation.objects.values_list("created_at", flat=True):
        month = timezone.localtime(created_at).month
        months[month] = months.get(month, 0) + 1
    assert months[12] == max(months.values()) and months[12] > 2 * months[8]  # the December rush
    statuses = set(Reservation.objects.values_list("status", flat=True))
    assert {S.COLLECTED, S.EXPIRED, S.REDIRECTED, S.CANCELLED} <= statuses
    assert Reservation.objects.filter(referred_by_shop__isnull=False).exists()
    assert Reservation.objects.filter(created_at__lt=timezone.now() - datetime.timedelta(days=300)).exists()
    # Every held copy belongs to an active reservation.
    held = sum(StockLine.objects.values_list("held", flat=True))
    assert held == sum(Reservation.objects.active().values_list("quantity", flat=True))
    assert ShopMonth.objects.count() > 100
