import pytest

from tests.factories import ShopFactory

from .fake import API_KEY, HMAC_KEY, FakePassCulture

SIRET = "41234567800012"
VENUE_ID = 7001


@pytest.fixture
def fake(settings):
    """pass Culture on 127.0.0.1, the portal configured to use it; retries wait milliseconds, not seconds."""
    server = FakePassCulture(
        venues=[
            {"id": VENUE_ID, "siret": SIRET, "name": "Librairie Mollat"},
            {"id": 7002, "siret": "99999999900011", "name": "Un autre lieu"},
        ]
    ).start()
    settings.PASSCULTURE_API_URL = server.url
    settings.PASSCULTURE_API_KEY = API_KEY
    settings.PASSCULTURE_HMAC_KEY = HMAC_KEY
    settings.PASSCULTURE_RETRY_BASE_SECONDS = 0.01
    settings.PASSCULTURE_RETRY_MAX_SECONDS = 0.05
    settings.PASSCULTURE_MAX_ATTEMPTS = 3
    yield server
    server.stop()


@pytest.fixture
def shop(db):
    """A member shop linked to its pass Culture venue, its stock sent there."""
    return ShopFactory(slug="mollat", siret=SIRET, passculture_venue_id=VENUE_ID, passculture_enabled=True)


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run what the code defers to after the commit (the push tasks), as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
