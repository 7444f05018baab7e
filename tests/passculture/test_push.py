"""The push: every change of what a reader could get at a shop reaches pass Culture, as its API asks."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from bookshops.tokens import api_token_create
from catalogue.stock.snapshots import stock_import
from passculture.client import PassCultureClient, PassCultureError
from passculture.models import EanCheck, Offer, PendingPush, SyncRun
from passculture.services import stock_push
from reservations.services import reservation_cancel, reservation_collect, reservation_confirm
from tests.factories import ShopFactory, StockLineFactory, make_isbn, reserve

from .conftest import SIRET, VENUE_ID

pytestmark = pytest.mark.django_db

PUSH = "/public/offers/v1/products/ean"
CHECK = "/public/offers/v1/products/ean/check_availability"


def pushed(fake):
    """{ean: stock} of every product received, later calls winning."""
    products = {}
    for call in fake.calls("POST", PUSH):
        assert call.body["location"] == {"type": "physical", "venueId": VENUE_ID}
        products.update({p["ean"]: p["stock"] for p in call.body["products"]})
    return products


def csv(*rows):
    return ("EAN;Qté;Prix TTC\n" + "".join(f"{isbn};{qty};{price}\n" for isbn, qty, price in rows)).encode()


def test_a_snapshot_pushes_what_a_reader_could_reserve_in_euro_cents(fake, shop, after_commit):
    held = StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=5, held=2, price=Decimal("9.90"))
    with after_commit():
        stock_import(shop=shop, data=csv((make_isbn(1), 5, "9,90"), (make_isbn(2), 1, "18,55"), (make_isbn(3), 4, "7")))
    assert pushed(fake) == {
        make_isbn(2): {"price": 1855, "quantity": 1},
        make_isbn(3): {"price": 700, "quantity": 4},
    }
    # the held line did not change: not sent again; a full resync sends it, 5 on the shelf − 2 held
    assert held.book.isbn not in pushed(fake)
    run = stock_push(shop_id=shop.pk, full=True)
    assert pushed(fake)[make_isbn(1)] == {"price": 990, "quantity": 3}
    assert (run.status, run.kind, run.sent_count) == (SyncRun.Status.OK, SyncRun.Kind.FULL, 3)
    assert not PendingPush.objects.exists()
    assert all(c.headers["Authorization"] == f"Bearer {fake_key()}" for c in fake.received)


def fake_key():
    from .fake import API_KEY

    return API_KEY


def test_a_title_gone_from_the_shelf_is_sent_as_zero_once_and_then_left_alone(fake, shop, after_commit):
    with after_commit():
        stock_import(shop=shop, data=csv((make_isbn(1), 2, "10"), (make_isbn(2), 1, "10")))
    with after_commit():
        stock_import(shop=shop, data=csv((make_isbn(1), 2, "10")), force=True)
    assert pushed(fake)[make_isbn(2)] == {"price": 1000, "quantity": 0}
    assert Offer.objects.get(book__isbn=make_isbn(2)).quantity == 0
    before = len(fake.calls("POST", PUSH))
    stock_push(shop_id=shop.pk, full=True)
    last = fake.calls("POST", PUSH)[before:]
    assert [p["ean"] for call in last for p in call.body["products"]] == [make_isbn(1)]


def test_a_patch_through_the_point_of_sale_api_pushes_only_its_lines(fake, shop, client, after_commit):
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=3)
    StockLineFactory(shop=shop, book__isbn=make_isbn(2), quantity=3)
    _record, token = api_token_create(shop=shop, name="caisse")
    with after_commit():
        response = client.patch(
            f"/api/v1/shops/{shop.slug}/stock",
            {"stocks": [{"ref": make_isbn(2), "quantity": 8}]},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200
    assert pushed(fake) == {make_isbn(2): {"price": 2200, "quantity": 8}}


def test_holds_releases_and_collections_are_pushed(fake, shop, after_commit, mailoutbox):
    line = StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=3, price=Decimal("12"))
    with after_commit():
        reservation = reserve(line)
    assert pushed(fake)[make_isbn(1)] == {"price": 1200, "quantity": 2}
    with after_commit():
        reservation_cancel(reservation=reservation, reason="test")
    assert pushed(fake)[make_isbn(1)]["quantity"] == 3
    with after_commit():
        second = reserve(line, quantity=2)
    assert pushed(fake)[make_isbn(1)]["quantity"] == 1
    reservation_confirm(reservation=second)
    with after_commit():
        reservation_collect(reservation=second)
    line.refresh_from_db()
    assert (line.quantity, line.held) == (1, 0)
    assert pushed(fake)[make_isbn(1)]["quantity"] == 1
    assert len(fake.calls("POST", PUSH)) == 4  # hold, release, hold, collection (confirming changes nothing)


def test_quantity_is_never_negative_and_a_closed_member_offers_nothing(fake, shop):
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=1, held=3)
    StockLineFactory(shop=shop, book__isbn=make_isbn(2), quantity=4)
    stock_push(shop_id=shop.pk, full=True)
    assert pushed(fake)[make_isbn(1)]["quantity"] == 0
    shop.is_active = False
    shop.save()
    stock_push(shop_id=shop.pk, full=True)
    assert pushed(fake)[make_isbn(2)]["quantity"] == 0


def test_batches_stay_within_pass_cultures_limits(fake, shop):
    StockLineFactory.create_batch(1201, shop=shop, book__isbn=factory_isbn())
    run = stock_push(shop_id=shop.pk, full=True)
    sizes = [len(call.body["products"]) for call in fake.calls("POST", PUSH)]
    assert sizes == [500, 500, 201]
    checks = [len(call.query["eans"].split(",")) for call in fake.calls("GET", CHECK)]
    assert max(checks) == 100 and sum(checks) == 1201
    assert (run.sent_count, run.requests_count) == (1201, 3 + 13)
    # the verdicts are kept: the next resync asks nothing
    fake.received.clear()
    stock_push(shop_id=shop.pk, full=True)
    assert not fake.calls("GET", CHECK) and len(fake.calls("POST", PUSH)) == 3


def factory_isbn():
    import factory

    return factory.Sequence(lambda n: make_isbn(500000 + n))


def test_429_and_5xx_are_retried_with_backoff(fake, shop):
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=1)
    fake.fail_next = [
        (429, {"Retry-After": "0"}, {"rate_limit": "200 requests/minute"}),
        (503, None, {"global": "unavailable"}),
    ]
    run = stock_push(shop_id=shop.pk, full=True)
    assert run.status == SyncRun.Status.OK
    assert run.requests_count == 4  # check: 429, 503, 200; push: 204
    assert pushed(fake) == {make_isbn(1): {"price": 2200, "quantity": 1}}


def test_a_push_that_keeps_failing_is_recorded_and_its_lines_wait_for_the_next_run(fake, shop, after_commit):
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=1)
    fake.fail_next = [(502, None, {"global": "bad gateway"})] * 4
    with after_commit():
        stock_import(shop=shop, data=csv((make_isbn(1), 6, "10")), partial=True)
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "HTTP 502" in run.errors
    assert PendingPush.objects.filter(shop=shop).count() == 1
    call_command("passculture_sync", "mollat", "--changes", stdout=open("/dev/null", "w"))
    assert pushed(fake) == {make_isbn(1): {"price": 1000, "quantity": 6}}
    assert not PendingPush.objects.exists()


def test_rejected_eans_are_not_offered_and_the_run_says_why(fake, shop):
    ebook, cd = make_isbn(1), "3700000000012"
    fake.refused = {ebook: "subcategoryNotAllowed", make_isbn(2): "notCompliantWithCgu"}
    for isbn in (ebook, make_isbn(2), make_isbn(3), cd):
        StockLineFactory(shop=shop, book__isbn=isbn, quantity=1)
    run = stock_push(shop_id=shop.pk, full=True)
    assert set(pushed(fake)) == {make_isbn(3)}
    assert run.rejected == {
        ebook: "catégorie non éligible (seuls les livres papier le sont)",
        make_isbn(2): "non conforme aux conditions générales du pass Culture",
        cd: "inconnu du pass Culture",
    }
    assert run.rejected_count == 3 and run.status == SyncRun.Status.OK and "3 EAN refusés" in run.message
    assert EanCheck.objects.get(book__isbn=ebook).status == EanCheck.Status.SUBCATEGORY_NOT_ALLOWED


def test_unpriced_lines_are_not_sent_and_counted_with_the_reason(fake, shop):
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=2, price=None)
    StockLineFactory(shop=shop, book__isbn=make_isbn(2), quantity=2, price=Decimal("350"))
    StockLineFactory(shop=shop, book__isbn=make_isbn(3), quantity=2, price=Decimal("0"))
    run = stock_push(shop_id=shop.pk, full=True)
    assert pushed(fake) == {make_isbn(3): {"price": 0, "quantity": 2}}
    assert run.unpriced_count == 1
    assert "1 ligne sans prix n'a pas été envoyée : le pass Culture exige un prix" in run.message
    assert run.rejected == {make_isbn(2): "prix supérieur à 300 €, le plafond du pass Culture"}


def test_the_venue_is_found_by_siret_and_stored(fake, db):
    shop = ShopFactory(slug="sans-lieu", siret=SIRET, passculture_enabled=True)
    StockLineFactory(shop=shop, book__isbn=make_isbn(1), quantity=1)
    run = stock_push(shop_id=shop.pk, full=True)
    shop.refresh_from_db()
    assert shop.passculture_venue_id == VENUE_ID and run.status == SyncRun.Status.OK
    assert fake.calls("GET", "/public/offers/v1/offerer_venues")

    stranger = ShopFactory(slug="inconnue", siret="12345678900017", passculture_enabled=True)
    StockLineFactory(shop=stranger, quantity=1)
    run = stock_push(shop_id=stranger.pk, full=True)
    assert run.status == SyncRun.Status.FAILED and "12345678900017" in run.errors
    assert stranger.passculture_venue_id is None


def test_a_shop_switched_off_is_not_pushed(fake, shop, after_commit):
    shop.passculture_enabled = False
    shop.save()
    with after_commit():
        stock_import(shop=shop, data=csv((make_isbn(1), 5, "9,90")))
    assert not fake.received and not PendingPush.objects.exists()
    run = stock_push(shop_id=shop.pk, full=True)
    assert run.status == SyncRun.Status.FAILED and not fake.received


def test_no_key_means_no_call_and_a_clear_record(fake, shop, settings):
    settings.PASSCULTURE_API_KEY = ""
    StockLineFactory(shop=shop, quantity=1)
    run = stock_push(shop_id=shop.pk, full=True)
    assert run.status == SyncRun.Status.FAILED and "PASSCULTURE_API_KEY" in run.errors
    assert not fake.received


@pytest.mark.parametrize(
    "product, field",
    [
        ({"ean": "9782070360024", "stock": {"price": 9.9, "quantity": 1}}, "products.0.stock.price"),
        ({"ean": "9782070360024", "stock": {"price": 30001, "quantity": 1}}, "products.0.stock.price"),
        ({"ean": "978207036002", "stock": {"price": 990, "quantity": 1}}, "products.0.ean"),
        ({"ean": "9782070360024", "stock": {"price": 990, "quantity": -1}}, "products.0.stock.quantity"),
        ({"ean": "9782070360024", "stock": {"price": 990}, "title": "x"}, "products.0.title"),
    ],
)
def test_the_fake_refuses_what_pass_culture_refuses(fake, product, field):
    with PassCultureClient() as client, pytest.raises(PassCultureError) as refused:
        client.products_upsert(venue_id=VENUE_ID, products=[product])
    assert refused.value.status == 400 and field in refused.value.body


def test_a_refused_batch_is_recorded_and_the_next_batches_still_go(fake, shop, monkeypatch):
    import passculture.services as services

    StockLineFactory.create_batch(3, shop=shop, book__isbn=factory_isbn(), quantity=1)
    monkeypatch.setattr(services, "UPSERT_BATCH", 1)
    fake_upsert = PassCultureClient.products_upsert
    calls = []

    def first_refused(self, *, venue_id, products):
        calls.append(products)
        if len(calls) == 1:
            products = [{**products[0], "stock": {**products[0]["stock"], "price": 1.5}}]
        return fake_upsert(self, venue_id=venue_id, products=products)

    monkeypatch.setattr(PassCultureClient, "products_upsert", first_refused)
    run = stock_push(shop_id=shop.pk, full=True)
    assert run.status == SyncRun.Status.PARTIAL and run.sent_count == 2
    assert "Lot de 1 lignes refusé" in run.errors and "products.0.stock.price" in run.errors


@pytest.mark.django_db(transaction=True)
def test_with_the_database_queue_the_push_is_a_task_the_worker_runs(fake, shop, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    stock_import(shop=shop, data=csv((make_isbn(1), 4, "12")))
    assert not fake.calls("POST", PUSH)  # the request that changed the stock did not wait for pass Culture
    assert DBTaskResult.objects.filter(task_path="passculture.tasks.push_changes").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    assert pushed(fake) == {make_isbn(1): {"price": 1200, "quantity": 4}}
    assert not PendingPush.objects.exists()


def test_a_line_marked_again_while_being_pushed_stays_pending(fake, shop, after_commit):
    from passculture.services import _pending_clear

    lines = StockLineFactory.create_batch(250, shop=shop, book__isbn=factory_isbn(), quantity=1)
    with after_commit():
        stock_import(shop=shop, data=csv(*[(line.book.isbn, 2, "10") for line in lines]), partial=True)
    assert len(pushed(fake)) == 250 and not PendingPush.objects.exists()
    PendingPush.objects.create(shop=shop, book=lines[0].book)
    read = list(PendingPush.objects.values_list("pk", "marked_at"))
    PendingPush.objects.update(marked_at=read[0][1] + datetime.timedelta(microseconds=1))  # a new change
    _pending_clear(read)
    assert PendingPush.objects.count() == 1
