"""Names and message shapes shared by the feed runner (publisher) and the hub (fan-out).

Channel-layer traffic, feed -> hubs (one hub per ASGI process):

- group ``ticker_group(T)``: ``{"type": "live.tick", "ticker": T, "seq": n, "text": json}``
  (at most one per ticker per publish interval) and
  ``{"type": "live.alert", "ticker": T, "seq": n, "users": None | [user ids], "text": json}``
  (never coalesced; ``users`` is None for the global rule, else the owners of the rule that
  fired).
- group ``STATUS_GROUP``: ``{"type": "live.status", "text": json}`` for provider status,
  ``{"type": "live.hello"}`` when a feed starts (hubs answer with their watch list) and
  ``{"type": "live.heartbeat", "status": json | None}`` every ``HEARTBEAT_SECONDS`` (a hub
  that hears nothing from the feed for ``STALE_AFTER_SECONDS`` tells its sockets that prices
  are stale).

Every message from the feed also carries ``token`` (the feed's fencing token: 0 in the
embedded mode, the lease's token in the scaled mode) and ``pid``; a hub ignores a message
whose token is lower than one it has already seen (a former leader).
- a hub's own channel: ``{"type": "live.snapshot", "ticker": T, "snapshot": {...}}``.

Hubs -> feed, on the ``CONTROL_CHANNEL``:

- ``{"type": "feed.watch", "hub": channel, "tickers": [...]}``: the full set a hub watches,
  re-sent every ``HUB_REFRESH_SECONDS`` so a restarted feed relearns it; the feed forgets
  a hub that has not refreshed for ``INTEREST_TTL_SECONDS``.
- ``{"type": "feed.snapshot", "hub": channel, "tickers": [...]}``: reply with one
  ``live.snapshot`` per ticker to ``hub``.
- ``{"type": "feed.rules_changed"}``: reload users' alert rules now.

``text`` fields are the exact JSON sent to browsers, encoded once by the feed, so a hub
forwards the same string to every socket without re-encoding.
"""

from __future__ import annotations

import json
from typing import Any

CONTROL_CHANNEL = "feed.control"
STATUS_GROUP = "live.status"
HUB_REFRESH_SECONDS = 10.0
INTEREST_TTL_SECONDS = 35.0
HEARTBEAT_SECONDS = 1.0
STALE_AFTER_SECONDS = 3.0

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


def ticker_group(ticker: str) -> str:
    """Channel-layer group of one ticker; symbols such as ^GSPC or EURUSD=X are escaped
    because group names only allow letters, digits, '-', '_' and '.'."""
    return "live.t." + "".join(c if c in _SAFE else f"_{ord(c):02x}" for c in ticker)


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


def empty_snapshot(ticker: str) -> dict[str, Any]:
    """What a client gets for a ticker the feed has no price for (yet)."""
    return {
        "ticker": ticker,
        "seq": 0,
        "price": None,
        "change_pct": None,
        "moving_average": None,
        "timestamp": None,
        "history": [],
        "alerts": [],
        "status": None,
    }
