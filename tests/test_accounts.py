"""Booksellers' logins: throttling and lockout (django-axes), unlocking, password reset, where a login lands."""

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from tests.factories import UserFactory, staff_member

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")
PASSWORD = "libraire-secret-42"


@pytest.fixture
def bookseller():
    user = staff_member()
    user.email = "libraire@example.org"
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def test_wrong_passwords_lock_the_account_even_with_the_right_one_after(client, bookseller, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert _login(client, bookseller.username, "wrong").status_code == 200  # the form again, with its error
    assert _login(client, bookseller.username, "wrong").status_code == 429  # the fifth failure locks
    locked = _login(client, bookseller.username, PASSWORD)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Connexion bloquée" in html and "bloquée pendant 30 min" in html
    assert "Librairies en réseau — administration" in html
    assert reverse("admin_password_reset") in html
    assert "_auth_user_id" not in client.session
    # From another address too: the username itself is locked (a spread-out attack gets nowhere).
    assert _login(client, bookseller.username, PASSWORD, REMOTE_ADDR="198.51.100.77").status_code == 429


def test_one_address_trying_many_usernames_is_locked_out(client, bookseller):
    for n in range(5):
        _login(client, f"guess{n}", "wrong")
    assert _login(client, bookseller.username, PASSWORD).status_code == 429


def test_the_association_unlocks_in_the_admin(client, bookseller):
    for _ in range(5):
        _login(client, bookseller.username, "wrong", REMOTE_ADDR="203.0.113.5")
    assert AccessAttempt.objects.filter(username=bookseller.username).exists()
    admin = UserFactory(is_staff=True, is_superuser=True)
    other = client.__class__()
    other.force_login(admin)
    changelist = other.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and bookseller.username in changelist.content.decode()
    attempt = AccessAttempt.objects.get(username=bookseller.username)
    response = other.post(
        reverse("admin:axes_accessattempt_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [attempt.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _login(client, bookseller.username, PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 302


def test_a_bookseller_cannot_see_or_clear_the_lockouts(client, bookseller):
    client.force_login(bookseller)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_the_unlock_command(client, bookseller):
    for _ in range(5):
        _login(client, bookseller.username, "wrong")
    call_command("axes_reset_username", bookseller.username)
    call_command("axes_reset_ip", "127.0.0.1")
    assert _login(client, bookseller.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(client, bookseller):
    for _ in range(4):
        _login(client, bookseller.username, "wrong")
    assert _login(client, bookseller.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, bookseller.username, "wrong")
    assert _login(client, bookseller.username, PASSWORD).status_code == 302


def test_lockout_uses_the_proxy_chain_right_end(client, bookseller, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    for n in range(5):
        _login(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, 198.51.100.20")
    # A new forged left part does not make a new client.
    assert (
        _login(client, bookseller.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99, 198.51.100.20").status_code
        == 429
    )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.20"}


# --- Where a login lands ----------------------------------------------------------------


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_a_login_with_an_unsafe_next_lands_on_the_admin(client, bookseller, unsafe):
    response = client.post(
        LOGIN + "?next=" + unsafe, {"username": bookseller.username, "password": PASSWORD, "next": unsafe}
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(response.url).status_code == 200


def test_the_login_view_of_django_auth_lands_on_the_admin_too(rf, bookseller, settings):
    from django.contrib.auth.views import LoginView
    from django.shortcuts import resolve_url

    assert resolve_url(settings.LOGIN_REDIRECT_URL) == "/admin/"
    assert LoginView().get_default_redirect_url() == "/admin/"


# --- Password reset by e-mail -----------------------------------------------------------


def test_the_login_page_links_to_the_password_reset(client):
    html = client.get(LOGIN).content.decode()
    assert reverse("admin_password_reset") in html


def test_a_bookseller_resets_a_forgotten_password_and_is_unlocked(client, bookseller):
    for _ in range(5):
        _login(client, bookseller.username, "wrong")
    assert _login(client, bookseller.username, PASSWORD).status_code == 429

    response = client.post(reverse("admin_password_reset"), {"email": "LIBRAIRE@example.org"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["libraire@example.org"]
    link = re.search(r"http://testserver(/admin/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    assert "Librairies en réseau — administration" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "Un-nouveau-mot-2026", "new_password2": "Un-nouveau-mot-2026"}
    )
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    assert _login(client, bookseller.username, PASSWORD).status_code == 200  # the old one is gone
    assert _login(client, bookseller.username, "Un-nouveau-mot-2026").status_code == 302
    # The link works once.
    assert "new_password1" not in client.get(link, follow=True).content.decode()


def test_no_link_for_unknown_or_non_staff_addresses_and_the_page_says_the_same(client):
    UserFactory(email="lecteur@example.org", is_staff=False).set_password("x")
    known = client.post(reverse("admin_password_reset"), {"email": "lecteur@example.org"})
    unknown = client.post(reverse("admin_password_reset"), {"email": "personne@example.org"})
    assert known.status_code == unknown.status_code == 302 and known.url == unknown.url
    assert mail.outbox == []


def test_password_reset_requests_are_limited_per_client(client, bookseller, settings):
    settings.PASSWORD_RESET_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(reverse("admin_password_reset"), {"email": bookseller.email}).status_code == 302
    refused = client.post(reverse("admin_password_reset"), {"email": bookseller.email})
    assert refused.status_code == 429
    assert "Trop de demandes de réinitialisation" in refused.content.decode()
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("path", ["/admin/reset/XX/set-password/", "/admin/reset/%00/x/", "/admin/reset/MQ/abc-def/"])
def test_forged_reset_links_are_refused_kindly(client, bookseller, path):
    response = client.get(path, follow=True)
    # A NUL byte is refused before any view, like everywhere on the site (portal.middleware).
    assert response.status_code == (400 if "%00" in path else 200)
    assert "new_password1" not in response.content.decode()
