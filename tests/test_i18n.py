"""The portal is French by default and fully available in English.

The English catalogue (locale/en/LC_MESSAGES/django.po) is committed together
with its compiled .mo, so these tests run without gettext installed.
"""

from html import unescape
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from catalogue.search import update_index
from tests.factories import StockLineFactory

pytestmark = pytest.mark.django_db

PO_FILE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

# Strings of the home page (base.html, home.html, search_form.html), in both languages.
FRENCH = [
    "Trouvez votre livre dans la librairie la plus proche",
    "Aller au contenu",
    "Espace libraires",
    "Tout juste arrivés en librairie",
    "En stock dans 1 librairie",
    "1 librairie indépendante partage son stock",
    "ex. Otsuka, Certaines n’avaient jamais vu la mer",
]
ENGLISH = [
    "Find your book in the nearest bookshop",
    "Skip to content",
    "Booksellers' area",
    "Just arrived in the bookshops",
    "In stock in 1 bookshop",
    "1 independent bookshop shares its stock",
    "e.g. Otsuka, Certaines n’avaient jamais vu la mer",
]


@pytest.fixture(autouse=True)
def _restore_language():
    """LocaleMiddleware leaves the request's language active in this thread:
    put the previous one back so later tests still run in French."""
    previous = translation.get_language()
    yield
    translation.activate(previous)


@pytest.fixture
def home_with_stock():
    """One active shop with one book in stock, so the home page shows its counters and list."""
    cache.clear()  # the home page caches the network counters
    line = StockLineFactory()
    update_index([line.book_id])  # as the import that wrote the line would have it
    yield
    cache.clear()


def page_text(response):
    assert response.status_code == 200
    return unescape(response.content.decode())


def assert_english(html):
    assert '<html lang="en">' in html
    for text in ENGLISH:
        assert text in html, text
    for text in FRENCH:
        assert text not in html, text


def test_home_is_french_by_default(client, home_with_stock):
    html = page_text(client.get(reverse("catalogue:home")))
    assert '<html lang="fr">' in html
    for text in FRENCH:
        assert text in html, text
    for text in ENGLISH:
        assert text not in html, text


@pytest.mark.parametrize("accept_language", ["en", "en-GB,en;q=0.8"])
def test_home_stays_french_for_an_english_browser(client, home_with_stock, accept_language):
    """French first: only the language switch selects English, not the browser's preference."""
    html = page_text(client.get(reverse("catalogue:home"), HTTP_ACCEPT_LANGUAGE=accept_language))
    assert '<html lang="fr">' in html
    assert FRENCH[0] in html


def test_an_unknown_language_cookie_falls_back_to_french(client, home_with_stock, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert '<html lang="fr">' in page_text(client.get(reverse("catalogue:home")))


def test_language_switcher_sets_english_then_back_to_french(client, home_with_stock):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert_english(page_text(client.get(reverse("catalogue:home"))))

    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    html = page_text(client.get(reverse("catalogue:home")))
    assert '<html lang="fr">' in html
    assert FRENCH[0] in html


def test_english_search_page_uses_translated_location_widget(client, home_with_stock):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = page_text(client.get(reverse("catalogue:search"), {"q": "zzzqqq"}))
    assert "Where are you?" in html
    assert "Use my location" in html
    assert "Où êtes-vous ?" not in html
    assert "Me localiser" not in html


def test_english_catalogue_is_complete():
    po = polib.pofile(str(PO_FILE))
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == "en"
    assert po.percent_translated() == 100


def test_english_catalogue_keeps_placeholders():
    """Every %(name)s / %s / %d of a msgid survives in its msgstr(s)."""
    import re

    placeholder = re.compile(r"%\(\w+\)[-#0 +]?\d*(?:\.\d+)?[sdf]|%[sd]|%%")
    problems = []
    for entry in polib.pofile(str(PO_FILE)):
        if entry.msgid_plural:
            # The singular may spell out "one" instead of showing the count.
            expected = sorted(placeholder.findall(entry.msgid_plural))
            translations = [entry.msgstr_plural[1]]
        else:
            expected = sorted(placeholder.findall(entry.msgid))
            translations = [entry.msgstr]
        for msgstr in translations:
            if sorted(placeholder.findall(msgstr)) != expected:
                problems.append((entry.msgid, msgstr))
    assert not problems


def test_compiled_catalogue_is_up_to_date():
    """The committed .mo matches the .po (run `manage.py compilemessages -l en` after editing)."""
    po_entries = {
        (e.msgid, e.msgstr or e.msgstr_plural.get(0, "")) for e in polib.pofile(str(PO_FILE)).translated_entries()
    }
    mo_entries = {(e.msgid, e.msgstr or e.msgstr_plural.get(0, "")) for e in polib.mofile(str(MO_FILE))}
    assert po_entries <= mo_entries
