"""Linking shops and running the commands: what the association does to join pass Culture."""

import io

import pytest
from django.core.management import CommandError, call_command

from bookshops.models import Shop
from passculture.models import SyncRun
from tests.factories import ShopFactory, StockLineFactory, UserFactory, staff_member

from .conftest import SIRET, VENUE_ID

pytestmark = pytest.mark.django_db


def test_venues_are_linked_by_siret_and_the_notification_url_is_set(fake):
    linked = ShopFactory(slug="a", siret=SIRET)
    lonely = ShopFactory(slug="b", siret="12345678900017")
    ShopFactory(slug="c", siret="")
    out = io.StringIO()
    call_command(
        "passculture_venues", notification_url="https://librairies.example/passculture/notifications", stdout=out
    )
    assert Shop.objects.get(pk=linked.pk).passculture_venue_id == VENUE_ID
    assert Shop.objects.get(pk=lonely.pk).passculture_venue_id is None
    assert "sans lieu : b (SIRET 12345678900017)" in out.getvalue()
    assert fake.calls("PATCH", "/public/providers/v1/provider")[0].body == {
        "notificationUrl": "https://librairies.example/passculture/notifications"
    }


def test_commands_refuse_unknown_shops_and_a_missing_key(fake, settings):
    with pytest.raises(CommandError, match="inconnue : nulle-part"):
        call_command("passculture_sync", "nulle-part")
    settings.PASSCULTURE_API_KEY = ""
    with pytest.raises(CommandError, match="PASSCULTURE_API_KEY"):
        call_command("passculture_venues")


def test_sync_without_a_shop_runs_every_enabled_shop_and_fails_loudly(fake, shop):
    ShopFactory(slug="off", passculture_enabled=False)
    StockLineFactory(shop=shop, quantity=1)
    out = io.StringIO()
    call_command("passculture_sync", stdout=out)
    assert set(SyncRun.objects.values_list("shop__slug", "kind")) == {("mollat", "full"), ("mollat", "bookings")}
    assert "mollat · envoi complet · réussi · 1 ligne envoyée sur 1 examinée(s)." in out.getvalue()
    fake.fail_next = [(500, None, {"global": "boom"})] * 10
    with pytest.raises(SystemExit):
        call_command("passculture_sync", "mollat", stdout=io.StringIO())


def test_the_association_sets_the_venue_and_the_shop_only_the_switch(fake, shop, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/bookshops/shop/{shop.pk}/change/")
    assert 'name="passculture_venue_id"' in page.text and 'name="passculture_enabled"' in page.text
    client.force_login(staff_member(shop, perms=("bookshops.view_shop", "bookshops.change_shop")))
    page = client.get(f"/admin/bookshops/shop/{shop.pk}/change/")
    assert 'name="passculture_venue_id"' not in page.text and str(VENUE_ID) in page.text
    assert 'name="passculture_enabled"' in page.text
