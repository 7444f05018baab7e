import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mailbox(mailoutbox, django_capture_on_commit_callbacks):
    """The locmem outbox, with after-commit callbacks run as they would in production."""

    class Box:
        outbox = mailoutbox

        def __call__(self):
            return django_capture_on_commit_callbacks(execute=True)

        def kinds_to(self, address):
            return [m.subject for m in mailoutbox if address in m.to]

    return Box()
