"""API tokens of the shops' point-of-sale software: issued once, stored hashed."""

import datetime
import hashlib
import secrets

from django.utils import timezone

from .models import ApiToken

#: Every token starts with this, so a leaked one is easy to recognise in logs or code.
TOKEN_PREFIX = "lr_"
#: Characters of the token kept in clear to tell tokens apart in the admin.
PREFIX_LENGTH = 10
#: ``last_used_at`` is rewritten at most this often, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, shop, name: str, user=None) -> tuple[ApiToken, str]:
    """Issue a new token for a shop; return it with the raw secret, which is never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        shop=shop,
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        digest=token_digest(raw),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return token, raw


def api_token_authenticate(raw: str) -> ApiToken | None:
    """Return the active token matching a raw secret, or None."""
    # Looking the hash up (never comparing secrets) leaks nothing through timing.
    if not raw or len(raw) > 200:
        return None
    token = ApiToken.objects.active().select_related("shop").filter(digest=token_digest(raw)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token for good; revoking it again changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token
