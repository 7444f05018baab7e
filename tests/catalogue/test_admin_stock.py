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


def test_the_import_page_shows_each_figure_once_and_none_of_the_workers_bookkeeping(client, bookseller):
    record = StockImport.objects.get(pk=upload(client, bookseller).url.split("/")[-3])
    assert record.index_refresh_ids, "the import queued a search refresh"
    page = client.get(reverse("admin:catalogue_stockimport_change", args=[record.pk])).content.decode()
    assert page.count("Problèmes par type") == 1 and "Lignes appliquées" in page and "Étape" in page
    for internal in ("Mises à jour de l", "Version du stock", "Dernier signe du traitement"):
        assert internal not in page


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


# --- The bookseller's stock tools: shop preselected, zeroed titles, apply anyway, today's arrivals ---------

from catalogue.stock import snapshots  # noqa: E402
from reservations.models import Reservation  # noqa: E402
from tests.factories import make_isbn, reserve  # noqa: E402


def snapshot(*rows):
    return ("EAN;Qté\r\n" + "".join(f"{isbn};{qty}\r\n" for isbn, qty in rows)).encode()


def test_a_one_shop_bookseller_does_not_choose_the_shop(client, bookseller):
    page = client.get(UPLOAD).content.decode()
    assert f'type="hidden" name="shop" value="{bookseller.pk}"' in page and "<select" not in page
    assert bookseller.name in page
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("stock.csv", CSV), "shop": bookseller.pk})
    assert response.status_code == 302 and StockImport.objects.get().shop == bookseller


def test_a_bookseller_of_two_shops_chooses_with_the_first_preselected(client, bookseller):
    second = ShopFactory(name="ZZ Seconde")
    second.staff.add(*bookseller.staff.all())
    page = client.get(UPLOAD).content.decode()
    assert '<select name="shop"' in page and "ZZ Seconde" in page
    assert f'<option value="{bookseller.pk}" selected>' in page


def test_the_report_lists_the_titles_zeroed_first_ones_and_a_link_to_all(client, bookseller):
    kept = StockLineFactory(shop=bookseller, quantity=2)
    dropped = [StockLineFactory(shop=bookseller, quantity=1, book__title=f"Titre parti {i:02d}") for i in range(25)]
    rows = [(kept.book.isbn, 2)] + [(line.book.isbn, 1) for line in dropped[:5]]
    response = upload(client, bookseller, data=snapshot(*rows), force="on")  # 20 of 26 dropped: forced
    record = StockImport.objects.get()
    assert record.applied and record.zeroed_count == 20
    assert {z["isbn"] for z in record.zeroed_lines} == {line.book.isbn for line in dropped[5:]}
    page = client.get(response.url).content.decode()
    assert "Titres passés à zéro" in page and "Titre parti 05" in page
    full = reverse("admin:catalogue_stockimport_zeroed", args=[record.pk])
    assert full not in page  # 20 fit on the page
    line = StockLineFactory(shop=bookseller, quantity=1, book__title="Titre parti 99")
    upload(client, bookseller, data=snapshot((kept.book.isbn, 2)), force="on")
    record = StockImport.objects.first()
    assert record.zeroed_count == 6
    snapshots_page = client.get(reverse("admin:catalogue_stockimport_change", args=[record.pk])).content.decode()
    assert "Titre parti 99" in snapshots_page and line.book.isbn in snapshots_page


def test_the_zeroed_list_is_bounded_and_complete_behind_its_link(client, bookseller, monkeypatch):
    monkeypatch.setattr(snapshots, "ZEROED_REPORTED", 30)
    lines = [StockLineFactory(shop=bookseller, quantity=1, book__title=f"Livre {i:02d}") for i in range(40)]
    upload(client, bookseller, data=snapshot((lines[0].book.isbn, 1)), force="on")
    record = StockImport.objects.get()
    assert record.zeroed_count == 39 and len(record.zeroed_lines) == 30
    page = client.get(reverse("admin:catalogue_stockimport_change", args=[record.pk])).content.decode()
    full = reverse("admin:catalogue_stockimport_zeroed", args=[record.pk])
    assert full in page and page.count("<li>Livre ") == 20
    listing = client.get(full).content.decode()
    assert "39 titres" in listing and "Les 30 premiers" in listing and listing.count("<tr><td>Livre ") == 30
    assert (
        client.get(
            reverse(
                "admin:catalogue_stockimport_zeroed",
                args=[StockImport.objects.create(shop=ShopFactory(), status="applied").pk],
            )
        ).status_code
        == 404
    )


def test_a_snapshot_zeroing_reserved_titles_waits_for_confirmation_then_applies_the_kept_file(client, bookseller):
    reserved = StockLineFactory(shop=bookseller, quantity=2, book__title="Livre réservé")
    others = [StockLineFactory(shop=bookseller, quantity=3) for _ in range(4)]
    reservation = reserve(reserved)
    data = snapshot(*[(line.book.isbn, 5) for line in others])
    response = upload(client, bookseller, data=data)
    record = StockImport.objects.get()
    assert record.status == StockImport.Status.REFUSED and record.can_retry
    assert "À confirmer" in record.message and "1 titre(s)" in record.message
    assert record.zeroed_lines == [{"level": "zeroed", "isbn": reserved.book.isbn, "title": "Livre réservé", "held": 1}]
    reserved.refresh_from_db()
    assert (reserved.quantity, reserved.held) == (2, 1) and others[0].__class__.objects.get(
        pk=others[0].pk
    ).quantity == 3
    page = client.get(response.url).content.decode()
    apply_url = reverse("admin:catalogue_stockimport_apply_anyway", args=[record.pk])
    assert "Appliquer quand même" in page and apply_url in page and "1 exemplaire réservé" in page
    assert client.get(apply_url).status_code == 403  # POST only
    applied = client.post(apply_url)
    new = StockImport.objects.exclude(pk=record.pk).get()
    assert applied.url == reverse("admin:catalogue_stockimport_change", args=[new.pk])
    assert new.applied and new.zeroed_count == 1 and new.file.read() == data
    reserved.refresh_from_db()
    assert (reserved.quantity, reserved.held) == (0, 1)  # the reservation itself stays, the shop tells the reader
    assert Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.REQUESTED
    # An applied import cannot be applied "anyway" again.
    again = client.post(reverse("admin:catalogue_stockimport_apply_anyway", args=[new.pk]), follow=True)
    assert "ne peut pas être appliqué" in again.content.decode()
    assert StockImport.objects.count() == 2


def test_apply_anyway_is_scoped_to_the_booksellers_shops(client, bookseller):
    other = ShopFactory()
    line = StockLineFactory(shop=other, quantity=2)
    StockLineFactory(shop=other, quantity=2)
    try:
        snapshots.stock_import(shop=other, data=snapshot((make_isbn(5), 1)))
    except Exception:  # noqa: BLE001 - refused: it would zero everything
        pass
    record = StockImport.objects.get()
    assert record.can_retry
    assert client.post(reverse("admin:catalogue_stockimport_apply_anyway", args=[record.pk])).status_code == 404
    line.refresh_from_db()
    assert line.quantity == 2


ARRIVALS = reverse("admin:catalogue_stockimport_arrivals")


def arrivals(**lines):
    data = {
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "20",
    }
    data.update({f"lines-{key}": value for key, value in lines.items()})
    return data


def test_todays_arrivals_change_only_the_lines_sent(client, bookseller):
    untouched = StockLineFactory(shop=bookseller, quantity=4)
    changed = StockLineFactory(shop=bookseller, quantity=1)
    new_isbn = "9782070368228"
    page = client.get(ARRIVALS).content.decode()
    assert 'for="id_lines-0-isbn"' in page and 'id="id_lines-0-isbn"' in page
    response = client.post(
        ARRIVALS,
        arrivals(
            **{
                "0-isbn": changed.book.isbn_display,
                "0-quantity": "6",
                "0-price": "12,50",
                "1-isbn": new_isbn,
                "1-quantity": "2",
            }
        )
        | {"shop": bookseller.pk},
    )
    record = StockImport.objects.get()
    assert response.url == reverse("admin:catalogue_stockimport_change", args=[record.pk])
    assert record.applied and (record.created_count, record.updated_count, record.zeroed_count) == (1, 1, 0)
    assert record.channel == "admin" and record.original_filename == "nouveautes-du-jour.csv"
    changed.refresh_from_db()
    untouched.refresh_from_db()
    assert (changed.quantity, str(changed.price)) == (6, "12.50")
    assert untouched.quantity == 4
    assert StockLine.objects.get(shop=bookseller, book__isbn=new_isbn).quantity == 2


def test_todays_arrivals_say_what_is_wrong_and_save_nothing(client, bookseller):
    response = client.post(
        ARRIVALS,
        arrivals(**{"0-isbn": "978207036822", "0-quantity": "2", "1-isbn": "9782070368228"}) | {"shop": bookseller.pk},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "clé de contrôle" in html or "ISBN" in html
    assert "Indiquez la quantité" in html
    assert 'value="978207036822"' in html  # what was typed stays
    empty = client.post(ARRIVALS, arrivals() | {"shop": bookseller.pk})
    assert empty.status_code == 400 and "au moins une ligne" in empty.content.decode()
    other = ShopFactory()
    forged = client.post(ARRIVALS, arrivals(**{"0-isbn": "9782070368228", "0-quantity": "1"}) | {"shop": other.pk})
    assert forged.status_code == 400
    garbage = client.post(ARRIVALS, {"lines-TOTAL_FORMS": "x", "shop": bookseller.pk})
    assert garbage.status_code == 400
    assert not StockImport.objects.exists() and not StockLine.objects.exists()


def test_the_import_record_title_is_in_local_time(bookseller):
    import datetime

    record = StockImport.objects.create(shop=bookseller, status=StockImport.Status.APPLIED)
    StockImport.objects.filter(pk=record.pk).update(
        created_at=datetime.datetime(2026, 7, 1, 22, 30, tzinfo=datetime.UTC)
    )
    record.refresh_from_db()
    assert "02/07/2026 00:30" in str(record)  # Paris is UTC+2 in summer


def test_the_api_report_keeps_zeroed_titles_out_of_its_warnings(bookseller):
    from catalogue.stock.api.views import import_payload

    StockLineFactory(shop=bookseller, quantity=1)
    keep = StockLineFactory(shop=bookseller, quantity=1)
    record = snapshots.stock_import(shop=bookseller, data=snapshot((keep.book.isbn, 1)), force=True)
    assert len(record.zeroed_lines) == 1
    payload = import_payload(record, from_json=False)
    assert payload["warnings"] == [] and payload["counts"]["zeroed"] == 1
