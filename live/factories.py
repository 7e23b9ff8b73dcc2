"""The live parts as the settings configure them: provider, sinks, feed runner, hub, socket
quota, Redis clients. Settings are read here (and in ``config/settings.py``), nowhere else in
``live/``."""

from __future__ import annotations

import asyncio
from typing import Any

from tradepulse.market import MarketDataProvider, create_provider

from .feed import FeedConfig, FeedRunner, Publisher, TickSink
from .hub import LiveHub
from .limits import SocketQuota
from .prices import LocalPriceBoard, PriceBoard, RedisPriceBoard


def provider_from_settings() -> MarketDataProvider:
    """Build the provider named by ``MARKET_DATA_PROVIDER`` with its options from settings."""
    from django.conf import settings

    name = settings.MARKET_DATA_PROVIDER.strip().lower()
    options: dict[str, Any] = {}
    if name == "simulated":
        options = {
            "rate": settings.MARKET_SIM_RATE,
            "jump_interval": settings.MARKET_SIM_JUMP_INTERVAL,
        }
        if settings.MARKET_SIM_SEED is not None:
            options["seed"] = settings.MARKET_SIM_SEED
    elif name == "replay":
        options = {
            "path": settings.MARKET_REPLAY_FILE,
            "speed": settings.MARKET_REPLAY_SPEED,
            "loop": settings.MARKET_REPLAY_LOOP,
            "rebase": settings.MARKET_REPLAY_REBASE,
        }
        if not settings.MARKET_REPLAY_FILE:
            raise ValueError("MARKET_DATA_PROVIDER=replay needs MARKET_REPLAY_FILE (a tick CSV)")
    elif name == "yahoo":
        options = {"mode": settings.YAHOO_MODE}
        if settings.YAHOO_STREAM_URL:
            options["url"] = settings.YAHOO_STREAM_URL
    elif name == "websocket":
        options = {"url": settings.MARKET_WEBSOCKET_URL}
    return create_provider(name, **options)


def sinks_from_settings() -> list[TickSink]:
    from django.conf import settings
    from django.utils.module_loading import import_string

    sinks = []
    for path in settings.FEED_TICK_SINKS:
        target = import_string(path)
        # A class or a factory function is called; an object with on_tick is used as is.
        sink = target() if isinstance(target, type) or not hasattr(target, "on_tick") else target
        sinks.append(sink)
    return sinks


def feed_config_from_settings() -> FeedConfig:
    from django.conf import settings

    return FeedConfig(
        publish_interval=settings.FEED_PUBLISH_INTERVAL,
        threshold_pct=settings.ALERT_THRESHOLD_PCT,
        window_seconds=settings.ALERT_WINDOW_SECONDS,
        average_seconds=settings.MOVING_AVERAGE_SECONDS,
        alert_queue_size=settings.ALERT_STORE_QUEUE_SIZE,
    )


def price_board_from_settings() -> PriceBoard:
    from django.conf import settings

    return LocalPriceBoard() if settings.FEED_IN_PROCESS else RedisPriceBoard(redis_client())


def feed_from_settings(layer=None, *, publisher: Publisher | None = None) -> FeedRunner:
    """The deployment's feed runner: provider, alert defaults and sinks from settings."""
    from channels.layers import get_channel_layer

    return FeedRunner(
        provider_from_settings(),
        layer if layer is not None else get_channel_layer(),
        config=feed_config_from_settings(),
        sinks=sinks_from_settings(),
        publisher=publisher,
        price_board=price_board_from_settings(),
    )


def hub_from_settings(layer) -> LiveHub:
    from django.conf import settings

    return LiveHub(layer, stale_after=settings.LIVE_STALE_AFTER_SECONDS)


def socket_quota_from_settings(redis=None) -> SocketQuota:
    from django.conf import settings

    return SocketQuota(settings.LIVE_WS_MAX_PER_USER, redis)


_async_clients: dict[asyncio.AbstractEventLoop, Any] = {}


def redis_client():
    """An asyncio Redis client on ``REDIS_URL`` for the running event loop."""
    import redis.asyncio
    from django.conf import settings

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        for old in [k for k in _async_clients if k.is_closed()]:
            del _async_clients[old]
        client = _async_clients[loop] = redis.asyncio.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return client


_sync_client = None


def redis_sync_client():
    """A blocking Redis client on ``REDIS_URL`` (readiness checks, selectors)."""
    global _sync_client
    import redis
    from django.conf import settings

    if _sync_client is None or _sync_client.url != settings.REDIS_URL:
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        _sync_client.url = settings.REDIS_URL
    return _sync_client
