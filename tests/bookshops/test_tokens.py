import datetime
import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from bookshops.models import ApiToken
from bookshops.tokens import api_token_authenticate, api_token_create, api_token_revoke
from tests.factories import ShopFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_stores_only_the_hash_and_a_prefix():
    shop = ShopFactory()
    user = UserFactory()
    token, raw = api_token_create(shop=shop, name="Caisse", user=user)
    token.refresh_from_db()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix) and len(token.prefix) < len(raw) - 20
    assert raw not in {token.digest, token.prefix, token.name}
    assert (token.shop, token.created_by, token.revoked_at) == (shop, user, None)
    assert api_token_create(shop=shop, name="Caisse")[1] != raw


def test_authenticate_finds_the_token_and_records_its_use_cheaply():
    token, raw = api_token_create(shop=ShopFactory(), name="Caisse")
    assert api_token_authenticate(raw) == token
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None
    assert api_token_authenticate(raw) == token
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use  # not rewritten every request
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - datetime.timedelta(hours=1))
    api_token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > timezone.now() - datetime.timedelta(minutes=1)


@pytest.mark.parametrize("raw", ["", "lr_nope", "x" * 500])
def test_authenticate_refuses_unknown_secrets(raw):
    api_token_create(shop=ShopFactory(), name="Caisse")
    assert api_token_authenticate(raw) is None


def test_revoked_token_no_longer_authenticates():
    token, raw = api_token_create(shop=ShopFactory(), name="Caisse")
    api_token_revoke(token=token)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    assert revoked_at is not None
    assert api_token_authenticate(raw) is None
    api_token_revoke(token=ApiToken.objects.get(pk=token.pk))
    assert ApiToken.objects.get(pk=token.pk).revoked_at == revoked_at


def test_command_prints_a_working_token(capsys):
    shop = ShopFactory(slug="mollat")
    call_command("create_api_token", "mollat", "Logiciel de caisse")
    raw = capsys.readouterr().out.strip()
    token = api_token_authenticate(raw)
    assert token is not None and token.shop == shop and token.name == "Logiciel de caisse"


def test_command_refuses_an_unknown_shop():
    with pytest.raises(CommandError, match="inconnue"):
        call_command("create_api_token", "nulle-part", "Caisse")
    assert not ApiToken.objects.exists()


@pytest.fixture
def bookseller(client):
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    user.save()  # the factory sets the password after saving
    user.user_permissions.set(Permission.objects.filter(codename__endswith="apitoken"))
    client.force_login(user)
    return user


def test_admin_shows_the_new_token_once_and_stores_its_hash(client, bookseller):
    shop = ShopFactory(name="Ma librairie")
    ShopFactory(name="Une autre")
    shop.staff.add(bookseller)
    form = client.get(reverse("admin:bookshops_apitoken_add")).content.decode()
    assert "Ma librairie" in form and "Une autre" not in form
    response = client.post(reverse("admin:bookshops_apitoken_add"), {"shop": shop.pk, "name": "Caisse"}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(shop=shop)
    shown = [w for m in response.context["messages"] for w in str(m).split() if w.startswith(token.prefix)]
    secrets = [w for w in shown if len(w) > 40]
    assert len(secrets) == 1
    raw = secrets[0]
    assert api_token_authenticate(raw) == token
    assert token.created_by == bookseller
    again = client.get(reverse("admin:bookshops_apitoken_change", args=[token.pk]))
    assert raw not in again.content.decode()


def test_admin_lists_only_own_shops_tokens_and_revokes(client, bookseller):
    mine, theirs = ShopFactory(), ShopFactory()
    mine.staff.add(bookseller)
    my_token, _raw = api_token_create(shop=mine, name="Ma caisse")
    their_token, their_raw = api_token_create(shop=theirs, name="Leur caisse")
    listing = client.get(reverse("admin:bookshops_apitoken_changelist")).content.decode()
    assert "Ma caisse" in listing and "Leur caisse" not in listing
    assert client.get(reverse("admin:bookshops_apitoken_change", args=[their_token.pk])).status_code == 302
    url = reverse("admin:bookshops_apitoken_changelist")
    client.post(url, {"action": "revoke", "_selected_action": [my_token.pk, their_token.pk]})
    assert ApiToken.objects.get(pk=my_token.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=their_token.pk).revoked_at is None
    assert api_token_authenticate(their_raw) == their_token


def test_admin_cannot_create_a_token_for_another_shop(client, bookseller):
    ShopFactory().staff.add(bookseller)
    other = ShopFactory()
    response = client.post(reverse("admin:bookshops_apitoken_add"), {"shop": other.pk, "name": "Intrus"})
    assert response.status_code == 200  # the form comes back with an error
    assert not ApiToken.objects.exists()
