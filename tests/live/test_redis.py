"""Redis mode: the feed runs apart from the web process and both talk through Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from live.feed import FeedConfig, FeedRunner
from tests.conftest import redis_url
from tests.live.conftest import ORIGIN, T0, ScriptedProvider, receive_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layers(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url()]},
        }
    }
    settings.FEED_IN_PROCESS = False
    settings.REDIS_URL = redis_url()
    yield


async def test_feed_in_its_own_task_serves_a_consumer_through_redis(
    redis_layers, connect, session_cookie
):
    from channels.layers import get_channel_layer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    # A layer of its own, as run_feed would have in another process.
    feed_layer = RedisPubSubChannelLayer(hosts=[redis_url()])
    provider = ScriptedProvider()
    feed = FeedRunner(
        provider,
        feed_layer,
        config=FeedConfig(publish_interval=0.05, start_wait=0),
        rules_loader=None,
    )
    feed_task = asyncio.create_task(feed.run())
    try:
        await asyncio.sleep(0.3)  # the feed subscribes to its control channel
        assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)

        first = await connect("AAPL", headers=[ORIGIN, session_cookie])
        await receive_until(first, lambda m: m["type"] == "snapshot", timeout=10)
        # The hub's watch message, through Redis, subscribed the feed's provider.
        async with asyncio.timeout(5):
            await provider.subscribed.wait()
        assert provider.tickers == {"AAPL"}
        for i in range(5):
            await provider.push("AAPL", 230.0 + i, T0 + timedelta(seconds=i))
        tick = (await receive_until(first, lambda m: m["type"] == "tick" and m["price"] == 234.0))[
            -1
        ]
        assert tick["ticker"] == "AAPL" and tick["moving_average"] == 232.0

        # A socket that starts now gets the feed's state in a snapshot requested over Redis.
        second = await connect("AAPL", headers=[ORIGIN, session_cookie])
        snapshot = (await receive_until(second, lambda m: m["type"] == "snapshot"))[-1]
        assert snapshot["price"] == 234.0
        assert [p["price"] for p in snapshot["history"]] == [230.0, 231.0, 232.0, 233.0, 234.0]
    finally:
        await feed.stop()
        await asyncio.wait_for(feed_task, 5)
        await feed_layer.flush()
