"""The client's address, believing ``X-Forwarded-For`` only from configured proxies.

``TRUSTED_PROXIES`` lists the addresses or networks of the reverse proxies in front of
TradePulse (none by default). A request's address is ``REMOTE_ADDR`` unless that is a trusted
proxy; then ``X-Forwarded-For`` is read from the right (each proxy appends the address it saw)
and the first address that is not a trusted proxy is the client. Anything a client writes into
the header itself sits to the left of that and is ignored, so rotating it changes nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The address rate limits and login lock-outs count against (``request`` is Django's or
    DRF's)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(remote, networks):
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for address in reversed(forwarded):
        if not address:
            continue
        if not _trusted(address, networks):
            return address
    # Every hop was a trusted proxy (or the header is missing): the leftmost proxy it named.
    return next((a for a in forwarded if a), remote)
