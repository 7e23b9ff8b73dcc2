"""ASGI applications served by daphne while bench/live.py runs; not part of TradePulse.

- ``tradepulse_application``: TradePulse's own ``config.asgi.application`` (hub, coalescing,
  in-process feed), with the feed reading the synthetic provider below.
- ``peer_application``: what a developer writes first with Channels: a consumer per socket
  joined to a group per ticker, one ``group_send`` per tick, no coalescing, channels' default
  per-message behaviour. Same token-in-first-message authentication, same provider.

The synthetic provider ticks every ticker ``BENCH_RATE`` times a second with the tickers'
phases spread evenly over the period, as independent sources would be, rather than all at
the same instant. Each tick is stamped with the time it is made, which is what the clients
measure latency from.
"""

from __future__ import annotations

import asyncio
import os
import random
from datetime import UTC, datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from config.asgi import application as tradepulse_application  # noqa: E402
from config.asgi import django_asgi_app  # noqa: E402
from live import runtime  # noqa: E402
from live.feed import FeedConfig, FeedRunner  # noqa: E402
from tradepulse.market import MarketDataProvider, ProviderState, Tick  # noqa: E402

RATE = float(os.environ.get("BENCH_RATE", "10"))

__all__ = ["SyntheticProvider", "peer_application", "tradepulse_application"]


class SyntheticProvider(MarketDataProvider):
    """Random-walk prices, ``rate`` ticks/s per subscribed ticker, phases spread evenly."""

    name = "synthetic"

    def __init__(self, rate: float = RATE, **options) -> None:
        super().__init__(**options)
        self.rate = rate
        self._prices: dict[str, float] = {}
        self._random = random.Random(1)

    async def _produce(self) -> None:
        await self._status(ProviderState.CONNECTED, f"synthetic prices at {self.rate:g} ticks/s")
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        started = loop.time()
        step = 0
        while True:
            tickers = sorted(self._tickers)
            if not tickers:
                await self._wait_for_subscription_change()
                continue
            slots = len(tickers)
            # One ticker per sub-slot: ticker k ticks at (step + k / slots) * period.
            for k, ticker in enumerate(tickers):
                due = started + (step + k / slots) * period
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                price = self._prices.get(ticker, 100.0) * (1 + self._random.gauss(0, 0.0005))
                self._prices[ticker] = price
                await self._emit(Tick(ticker, round(price, 4), datetime.now(UTC)))
            step += 1
            if started + step * period < loop.time() - 1.0:
                started, step = loop.time(), 0  # far behind: skip ahead, never burst


def _tradepulse_feed(layer) -> FeedRunner:
    return FeedRunner(
        SyntheticProvider(),
        layer,
        config=FeedConfig(
            publish_interval=settings.FEED_PUBLISH_INTERVAL,
            threshold_pct=settings.ALERT_THRESHOLD_PCT,
            window_seconds=settings.ALERT_WINDOW_SECONDS,
            average_seconds=settings.MOVING_AVERAGE_SECONDS,
        ),
    )


runtime.feed_factory = _tradepulse_feed


# -- the peer ----------------------------------------------------------------------------

_peer: dict = {}


async def _peer_feed(provider: SyntheticProvider) -> None:
    layer = get_channel_layer()
    async for item in provider.ticks():
        if isinstance(item, Tick):
            await layer.group_send(
                f"peer.{item.ticker}",
                {
                    "type": "price.tick",
                    "ticker": item.ticker,
                    "price": item.price,
                    "timestamp": item.timestamp.isoformat(),
                },
            )


def _peer_provider() -> SyntheticProvider:
    if "provider" not in _peer:
        _peer["provider"] = SyntheticProvider()
        _peer["task"] = asyncio.ensure_future(_peer_feed(_peer["provider"]))
    return _peer["provider"]


@database_sync_to_async
def _token_user(key):
    from knox.auth import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        return TokenAuthentication().authenticate_credentials(key.encode())[0]
    except AuthenticationFailed:
        return None


class PeerPriceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.ticker = self.scope["url_route"]["kwargs"]["ticker"].upper()
        self.user = None
        await self.accept()

    async def receive_json(self, content, **kwargs):
        if self.user is None:
            self.user = await _token_user(content.get("token", ""))
            if self.user is None:
                await self.close(code=4401)
                return
            await self.channel_layer.group_add(f"peer.{self.ticker}", self.channel_name)
            await _peer_provider().subscribe([self.ticker])

    async def disconnect(self, code):
        await self.channel_layer.group_discard(f"peer.{self.ticker}", self.channel_name)

    async def price_tick(self, event):
        await self.send_json(
            {
                "type": "tick",
                "ticker": event["ticker"],
                "price": event["price"],
                "timestamp": event["timestamp"],
            }
        )


peer_application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter([re_path(r"^ws/stocks/(?P<ticker>[^/]+)/$", PeerPriceConsumer.as_asgi())])
            )
        ),
    }
)
