import pytest

pytestmark = pytest.mark.django_db


def test_french_by_default_even_for_an_english_browser(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="fr">' in html


def test_the_language_switch_changes_the_language_and_is_remembered(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert '<html lang="fr">' in client.get("/").content.decode()


def test_an_unknown_language_cookie_falls_back_to_french(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert '<html lang="fr">' in client.get("/").content.decode()
