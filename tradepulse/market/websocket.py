"""Ticks from any WebSocket feed that sends JSON ticks (e.g. websocket_simulator/server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .base import StreamItem
from .streaming import StreamingProvider
from .ticks import Tick, TickFormatError

__all__ = ["WebSocketProvider"]


class WebSocketProvider(StreamingProvider):
    """Consumes a feed of JSON ticks: `{"ticker", "price", "timestamp"[, "volume"]}` per
    text frame, or a JSON array of such objects.

    The feed decides which tickers it sends; the provider filters them to the subscription
    (an empty subscription passes everything). Options are those of `StreamingProvider`:
    `url`, `silence_timeout` (seconds, None to disable), `open_timeout`, `backoff`.
    """

    name = "websocket"
    empty_means_all = True

    def __init__(
        self, url: str = "ws://127.0.0.1:8001", tickers: Iterable[str] = (), **options: object
    ) -> None:
        super().__init__(url, tickers, **options)  # type: ignore[arg-type]

    def _decode(self, message: str | bytes) -> Iterable[StreamItem]:
        try:
            data = json.loads(message)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TickFormatError(f"not JSON: {exc}") from None
        if isinstance(data, list):
            return [Tick.from_wire(item) for item in data]
        return [Tick.from_wire(data)]
