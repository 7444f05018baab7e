import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalogue.models import StockImport, StockLine
from tests.factories import ShopFactory, StockLineFactory, UserFactory

pytestmark = pytest.mark.django_db
UPLOAD = reverse("admin:catalogue_stockimport_upload")
CSV = "EAN;Qté;Prix TTC\r\n9782070368228;3;8,30\r\n".encode()


@pytest.fixture
def bookseller(client):
    shop = ShopFactory()
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_stockimport", "view_stockimport", "view_stockline"])
    )
    shop.staff.add(user)
    client.force_login(user)
    return shop


def upload(client, shop, data=CSV, **extra):
    return client.post(UPLOAD, {"shop": shop.pk, "file": SimpleUploadedFile("stock.csv", data), **extra})


def test_bookseller_uploads_their_shops_stock_and_reads_the_report(client, bookseller):
    response = upload(client, bookseller)
    record = StockImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:catalogue_stockimport_change", args=[record.pk])
    assert (record.shop, record.channel, record.created_count) == (bookseller, "admin", 1)
    page = client.get(response.url).content.decode()
    assert "Import appliqué" in page
    assert StockLine.objects.get(shop=bookseller).quantity == 3


def test_a_refused_upload_shows_its_line_report_and_changes_nothing(client, bookseller):
    StockLineFactory(shop=bookseller, quantity=4)
    response = upload(client, bookseller, data="EAN;Qté\r\n978207036822;1\r\n".encode())
    page = client.get(response.url).content.decode()
    assert "Import refusé" in page
    assert "ISBN invalide" in page
    assert list(StockLine.objects.filter(shop=bookseller).values_list("quantity", flat=True)) == [4]


def test_bookseller_cannot_upload_for_another_shop(client, bookseller):
    other = ShopFactory()
    response = upload(client, other)
    assert response.status_code == 200
    assert "shop" in response.context["form"].errors
    assert not StockImport.objects.exists()


def test_bookseller_sees_only_their_own_imports_and_lines(client, bookseller):
    other = ShopFactory()
    theirs = StockLineFactory(shop=other)
    mine = StockLineFactory(shop=bookseller)
    listing = client.get(reverse("admin:catalogue_stockline_changelist")).content.decode()
    assert mine.book.title in listing and theirs.book.title not in listing
    assert client.get(reverse("admin:catalogue_stockline_change", args=[theirs.pk])).status_code == 302
    upload(client, bookseller)
    foreign = StockImport.objects.create(shop=other, status=StockImport.Status.APPLIED)
    assert client.get(reverse("admin:catalogue_stockimport_change", args=[foreign.pk])).status_code == 302


def test_staff_without_permission_cannot_reach_the_upload(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    assert client.get(UPLOAD).status_code == 403


def test_the_admin_home_shows_the_booksellers_tools(client, bookseller):
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:catalogue_stockimport_upload") in html
    assert "Envoyer le stock" in html
