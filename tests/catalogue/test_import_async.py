"""Imports off the request path: recorded first, run by the worker, followed through the API or a progress page."""

import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from bookshops.tokens import api_token_create
from catalogue.models import IndexRefresh, StockImport, StockLine
from catalogue.search import search_books
from catalogue.stock import snapshots
from tests.catalogue.test_hostile_inputs import held_matches_reservations
from tests.factories import ShopFactory, StockLineFactory, UserFactory, make_isbn, reserve

# Real commits: the import task is enqueued on commit and run by the worker, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.STOCK_IMPORT_INLINE_MAX_BYTES = 100  # every file but the tiniest goes to the worker


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)


@pytest.fixture
def shop():
    shop = ShopFactory(slug="mollat")
    line = StockLineFactory(shop=shop, book__isbn=make_isbn(0), book__title="Vieux titre", quantity=4)
    reserve(line, quantity=1)
    return shop


def stock_file(n: int, start: int = 0) -> bytes:
    rows = "".join(f"{make_isbn(i)};{i % 5 + 1};Roman des Landes {i}\r\n" for i in range(start, start + n))
    return ("EAN;Qté;Titre\r\n" + rows).encode()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_api_answers_202_and_the_status_url_follows_the_import_to_its_end(client, shop, db_tasks):
    token = api_token_create(shop=shop, name="Caisse")[1]
    response = client.put(
        reverse("api:shop-stock", kwargs={"slug": "mollat"}) + "?force=true",
        data=stock_file(300, start=1),
        content_type="text/csv",
        headers=auth(token),
    )
    assert response.status_code == 202, response.content
    answer = response.json()
    assert set(answer) == {"import_id", "status", "status_url"} and answer["status"] == "pending"
    record = StockImport.objects.get(pk=answer["import_id"])
    assert record.file.read() == stock_file(300, start=1), "the file is kept before any work"
    assert StockLine.objects.filter(shop=shop).count() == 1, "nothing applied in the request"

    status = client.get(answer["status_url"], headers=auth(token))
    assert status.status_code == 200 and status.json()["status"] == "pending"
    other = api_token_create(shop=ShopFactory(), name="Autre")[1]
    assert client.get(answer["status_url"], headers=auth(other)).status_code == 403
    assert client.get(answer["status_url"]).status_code == 401

    run_worker()  # the import, then the search index refresh it queued
    report = client.get(answer["status_url"], headers=auth(token)).json()
    assert report["status"] == "applied" and report["phase"] == "done"
    assert report["counts"]["created"] == 300 and report["counts"]["rows_read"] == 300
    assert report["progress"]["books_indexed"] == report["progress"]["books_to_index"] == 301  # 300 new, 1 zeroed
    assert report["started_at"] and report["finished_at"] and report["stock_version"]
    assert search_books(query="roman landes 299").total >= 1
    assert IndexRefresh.objects.filter(done_at__isnull=True).count() == 0
    assert held_matches_reservations()


def test_admin_upload_shows_a_progress_page_that_refreshes_itself_until_done(client, shop, db_tasks):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_stockimport", "view_stockimport"]))
    shop.staff.add(user)
    client.force_login(user)
    response = client.post(
        reverse("admin:catalogue_stockimport_upload"),
        {"shop": shop.pk, "force": "on", "file": SimpleUploadedFile("stock.csv", stock_file(200, start=1))},
    )
    record = StockImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:catalogue_stockimport_progress", args=[record.pk])
    page = client.get(response.url).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "js/import-progress.js" in page and "<script>" not in page, "no inline script (strict CSP)"
    assert "En attente" in page
    run_worker()  # the import, then the search index refresh it queued
    page = client.get(response.url).content.decode()
    assert "Appliqué" in page and "Recherche mise à jour" in page and "201 livres sur 201" in page
    assert 'http-equiv="refresh"' not in page and "import-progress.js" not in page
    # Another shop's bookseller cannot follow it.
    stranger = UserFactory(is_staff=True)
    stranger.user_permissions.add(*Permission.objects.filter(codename__in=["view_stockimport"]))
    ShopFactory().staff.add(stranger)
    client.force_login(stranger)
    assert client.get(response.url).status_code == 403


def test_a_killed_worker_leaves_the_stock_intact_and_the_record_says_so(shop, monkeypatch, client):
    record = snapshots.stock_import_create(shop=shop, data=stock_file(50), channel=StockImport.Channel.API)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # what SIGTERM/SIGKILL mid-transaction amounts to: no except clause runs

    monkeypatch.setattr(snapshots, "_upsert_stock_lines", killed)
    with pytest.raises(KeyboardInterrupt):
        snapshots.stock_import_run(stock_import_id=record.pk)
    record.refresh_from_db()
    assert record.status == StockImport.Status.RUNNING
    assert list(StockLine.objects.filter(shop=shop).values_list("quantity", "held")) == [(4, 1)]

    assert snapshots.stock_imports_fail_stale() == 0, "still fresh: it may be working"
    later = timezone.now() + datetime.timedelta(hours=1)
    assert snapshots.stock_imports_fail_stale(now=later) == 1
    record.refresh_from_db()
    assert record.status == StockImport.Status.FAILED and "s'est arrêté avant la fin" in record.message
    assert record.file.read() == stock_file(50)
    assert held_matches_reservations()


def test_a_portal_error_is_a_failed_record_and_a_500_json_the_stock_is_kept(client, shop, monkeypatch):
    token = api_token_create(shop=shop, name="Caisse")[1]

    def broken(rows, origin):
        raise RuntimeError("disk full")

    monkeypatch.setattr(snapshots, "_resolve_books", broken)
    response = client.put(
        reverse("api:shop-stock", kwargs={"slug": "mollat"}),
        data=stock_file(3),
        content_type="text/csv",
        headers=auth(token),
    )
    assert response.status_code == 500 and response.json()["status"] == "failed"
    assert "RuntimeError" in response.json()["message"]
    record = StockImport.objects.get()
    assert record.status == StockImport.Status.FAILED and record.finished_at and record.file.read() == stock_file(3)
    assert list(StockLine.objects.filter(shop=shop).values_list("quantity", "held")) == [(4, 1)]


def test_running_an_import_twice_does_it_once(shop):
    record = snapshots.stock_import_create(shop=shop, data=stock_file(5))
    first = snapshots.stock_import_run(stock_import_id=record.pk)
    version = first.stock_version
    second = snapshots.stock_import_run(stock_import_id=record.pk)
    assert (first.status, second.status, second.stock_version) == ("applied", "applied", version)
    assert set(StockLine.objects.filter(shop=shop, quantity__gt=0).values_list("stock_version", flat=True)) == {version}


def test_import_stock_command_stays_synchronous_and_prints_progress(shop, tmp_path, settings):
    settings.STOCK_IMPORT_INLINE_MAX_BYTES = 0
    path = tmp_path / "stock.csv"
    path.write_bytes(stock_file(120_000 // 1000))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_stock", "mollat", str(path), "--force", stdout=out, stderr=err)
    assert "Import appliqué" in out.getvalue() and "nouvelles 119 · modifiées 1" in out.getvalue()
    assert "lecture du fichier : 120 lignes lues" in err.getvalue()
    assert StockLine.objects.filter(shop=shop, quantity__gt=0).count() == 120
