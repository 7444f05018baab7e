"""The client's address, as the proxies in front of the portal saw it."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind N trusted proxies the N-th address from the right of the header.

    Each proxy appends the address it received the request from, so only the
    right end of the chain was written by machines we trust: anything to the
    left of it was sent by the client and can be forged.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    header = settings.CLIENT_IP_HEADER
    proxies = settings.CLIENT_IP_TRUSTED_PROXIES
    if not header or proxies < 1:
        return remote
    chain = [part.strip() for part in request.META.get(header, "").split(",") if part.strip()]
    if len(chain) < proxies:
        return remote  # not through every trusted proxy: nothing in the header can be trusted
    candidate = chain[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
