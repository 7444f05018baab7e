"""Kept stock files and reports: private storage, unguessable names, downloads checked per shop."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalogue.exceptions import StockImportRefused
from catalogue.models import StockImport
from catalogue.stock.snapshots import stock_import
from tests.factories import ShopFactory, UserFactory

pytestmark = pytest.mark.django_db
CSV = 'EAN;Qté;Prix TTC\r\n9782070368228;3;8,30\r\n9782070368220;1;5\r\n=HYPERLINK("x");2;1\r\n'.encode()


def bookseller_of(shop):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_stockimport", "view_stockimport"]))
    shop.staff.add(user)
    return user


@pytest.fixture
def kept(settings):
    settings.STOCK_IMPORT_MAX_REJECTED_SHARE = 0.9
    shop = ShopFactory(slug="le-passeur")
    record = stock_import(shop=shop, data=CSV, filename="Stock décembre.csv")
    return {"shop": shop, "record": record, "staff": bookseller_of(shop), "other": bookseller_of(ShopFactory())}


def file_url(record_or_pk):
    return reverse("admin:catalogue_stockimport_file", args=[getattr(record_or_pk, "pk", record_or_pk)])


def report_url(record_or_pk):
    return reverse("admin:catalogue_stockimport_report", args=[getattr(record_or_pk, "pk", record_or_pk)])


def test_the_file_is_kept_privately_under_an_unguessable_name(kept, settings):
    record = kept["record"]
    name = record.file.name
    assert name.startswith(f"stock-imports/{kept['shop'].pk}/") and name.endswith(".csv")
    assert len(name.rsplit("/", 1)[1]) >= 32 and "stock" not in name.rsplit("/", 1)[1].lower()
    assert (settings.PRIVATE_MEDIA_ROOT / name).read_bytes() == CSV
    assert not (settings.MEDIA_ROOT / name).exists()
    with pytest.raises(ValueError):
        record.file.url  # no public address at all
    # Two files with the same name do not land on guessable neighbours.
    again = stock_import(shop=kept["shop"], data=CSV, filename="Stock décembre.csv")
    assert again.file.name != name


def test_the_shops_staff_download_the_file_and_the_report(client, kept):
    client.force_login(kept["staff"])
    page = client.get(reverse("admin:catalogue_stockimport_change", args=[kept["record"].pk])).content.decode()
    assert file_url(kept["record"]) in page and report_url(kept["record"]) in page
    assert "/media/" not in page
    response = client.get(file_url(kept["record"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert response["Content-Type"] == "application/octet-stream"
    assert "attachment" in response["Content-Disposition"] and "Stock" in response["Content-Disposition"]
    report = client.get(report_url(kept["record"]))
    text = report.content.decode("utf-8-sig")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    assert text.splitlines()[0] == "ligne;niveau;valeur;problème"
    assert any(row.startswith("3;error;9782070368220;") for row in text.splitlines())
    assert "'=HYPERLINK" in text  # a spreadsheet shows it, never runs it


def test_the_association_downloads_any_shops_file(client, kept):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(file_url(kept["record"])).status_code == 200
    assert client.get(report_url(kept["record"])).status_code == 200


def test_another_shops_staff_and_forged_ids_get_nothing(client, kept):
    client.force_login(kept["other"])
    for url in (file_url(kept["record"]), report_url(kept["record"])):
        response = client.get(url)
        assert response.status_code == 404 and CSV not in response.content
    client.force_login(kept["staff"])
    for forged in (kept["record"].pk + 1, 999999, 0):
        assert client.get(file_url(forged)).status_code == 404
        assert client.get(report_url(forged)).status_code == 404
    for path in (
        f"/admin/catalogue/stockimport/{kept['record'].pk}/file/../../",
        "/admin/catalogue/stockimport/-1/file/",
        "/admin/catalogue/stockimport/abc/file/",
        "/media/" + kept["record"].file.name,
    ):
        response = client.get(path)
        assert response.status_code in (302, 404) and CSV not in response.content


def test_staff_without_the_view_permission_and_anonymous_get_nothing(client, kept):
    assert client.get(file_url(kept["record"])).status_code == 302  # to the login page
    user = UserFactory(is_staff=True)
    kept["shop"].staff.add(user)
    client.force_login(user)
    assert client.get(file_url(kept["record"])).status_code in (403, 404)


def test_a_file_missing_from_the_disk_is_a_404_not_an_error(client, kept):
    kept["record"].file.delete(save=False)
    StockImport.objects.filter(pk=kept["record"].pk).update(file="stock-imports/gone.csv")
    client.force_login(kept["staff"])
    assert client.get(file_url(kept["record"])).status_code == 404


def test_a_refused_import_keeps_its_file_privately_too(kept):
    with pytest.raises(StockImportRefused) as refused:
        stock_import(shop=kept["shop"], data=b"\x00\x01 not a stock file", filename="../../etc/passwd")
    name = refused.value.stock_import.file.name
    assert name.startswith(f"stock-imports/{kept['shop'].pk}/") and ".." not in name and "passwd" not in name
