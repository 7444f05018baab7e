from tests.reservations.conftest import _fresh_rate_limits, mailbox  # noqa: F401 - the same fixtures
