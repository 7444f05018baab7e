"""Reading a shop's API token from the ``Authorization`` header."""

import base64
import binascii

from bookshops.models import ApiToken
from bookshops.tokens import api_token_authenticate

#: Sent with every 401 so clients know both accepted forms.
WWW_AUTHENTICATE = 'Bearer realm="api", Basic realm="api"'


def credentials(header: str) -> list[str]:
    """The candidate raw tokens in an ``Authorization`` header, most likely first.

    ``Bearer <token>``; ``Basic <token>`` with the raw token (not base64),
    as some point-of-sale software sends it; and, for ordinary HTTP clients, ``Basic`` with
    base64 of ``user:token`` or ``token:``.
    """
    scheme, _sep, value = header.strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if not value or scheme not in ("bearer", "basic"):
        return []
    if scheme == "bearer":
        return [value]
    candidates = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return candidates
    user, _sep, password = decoded.partition(":")
    candidates += [part for part in (password, user) if part and part != value]
    return candidates


def authenticate(request) -> ApiToken | None:
    """The active token the request carries, or None."""
    for raw in credentials(request.headers.get("Authorization", "")):
        token = api_token_authenticate(raw)
        if token is not None:
            return token
    return None
