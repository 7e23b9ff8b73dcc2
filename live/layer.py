"""The one way the feed and the hubs call the channel layer.

``LayerClient.call("group_send", group, message)`` names the method by its string (the
Redis pub/sub layer's methods are ``functools.partial`` objects without ``__name__``), never
raises for a failed call (it returns False), logs the first failure of an outage and the
recovery (not every failed message), and counts failures in
``tradepulse_live_channel_layer_errors``. Callers retry what they cannot do without: the feed
re-publishes a ticker's latest price in a later slot and sends a heartbeat every second; the
hub re-joins its groups and re-sends its watch list every ``HUB_REFRESH_SECONDS`` and at once
when the feed is heard again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from . import metrics

logger = logging.getLogger(__name__)


class LayerClient:
    def __init__(self, layer: Any, side: str) -> None:
        self.layer = layer
        self.side = side
        self.failing_since: float | None = None
        self.failures = 0

    @property
    def healthy(self) -> bool:
        return self.failing_since is None

    async def call(self, method: str, *args: Any) -> bool:
        try:
            await getattr(self.layer, method)(*args)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(method, exc)
            return False
        if self.failing_since is not None:
            logger.warning(
                "%s: channel layer reachable again after %.1f s (%d failed calls)",
                self.side,
                time.monotonic() - self.failing_since,
                self.failures,
            )
            self.failing_since = None
            self.failures = 0
        return True

    async def receive(self, channel: str) -> dict[str, Any]:
        return await self.layer.receive(channel)

    def _failed(self, method: str, exc: Exception) -> None:
        self.failures += 1
        metrics.LAYER_ERRORS.labels(side=self.side).inc()
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            # A full or unreachable layer loses this message; clients resync from snapshots.
            logger.warning("%s: channel layer %s failed: %r", self.side, method, exc)
        else:
            logger.debug("%s: channel layer %s failed again: %r", self.side, method, exc)


class LayerPublisher:
    """Publishes the feed's messages through the channel layer, unfenced: the embedded mode
    (in-memory layer, the feed inside the web process), where there is no second feed.

    Every publisher stamps each message with ``token`` (the feed's fencing token; 0 here) and
    ``pid``, and returns False for a message it could not publish.
    """

    token = 0

    def __init__(self, client: LayerClient) -> None:
        self.client = client
        self.pid = os.getpid()

    async def group_send(self, group: str, message: dict[str, Any]) -> bool:
        message["token"], message["pid"] = self.token, self.pid
        return await self.client.call("group_send", group, message)

    async def send(self, channel: str, message: dict[str, Any]) -> bool:
        message["token"], message["pid"] = self.token, self.pid
        return await self.client.call("send", channel, message)
