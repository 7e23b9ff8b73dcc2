"""The per-process hub and its conversation with the feed over the channel layer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.layers import InMemoryChannelLayer
from django.core.management import CommandError, call_command

from live.feed import FeedConfig, FeedRunner
from live.hub import LiveHub
from tests.live.conftest import T0, ScriptedProvider


class ListWatcher:
    def __init__(self, user_id=None):
        self.user_id = user_id
        self.texts: list[str] = []

    def send_text(self, text: str) -> None:
        self.texts.append(text)


def new_feed(layer, provider):
    return FeedRunner(
        provider,
        layer,
        config=FeedConfig(publish_interval=0.02, start_wait=0),
        rules_loader=None,
        alert_writer=None,
    )


async def test_a_restarted_feed_relearns_what_the_hub_watches():
    layer = InMemoryChannelLayer()
    hub = LiveHub(layer, snapshot_timeout=0.2)
    await hub.start()
    watcher = ListWatcher()
    await hub.watch(watcher, "AAPL")  # no feed yet: an empty snapshot after the timeout
    assert '"type":"snapshot"' in watcher.texts[0] and '"price":null' in watcher.texts[0]

    provider = ScriptedProvider()
    feed = new_feed(layer, provider)
    task = asyncio.create_task(feed.run())
    # The feed's hello makes the hub re-send its watch list at once (not after 10 s).
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    assert provider.tickers == {"AAPL"}
    await provider.push("AAPL", 230.0, T0)
    async with asyncio.timeout(5):
        while not any('"type":"tick"' in t for t in watcher.texts):
            await asyncio.sleep(0.01)

    await feed.stop()
    await asyncio.wait_for(task, 5)
    await hub.stop()


async def test_hub_writes_each_message_once_to_every_watcher_and_stops_after_unwatch():
    layer = InMemoryChannelLayer()
    provider = ScriptedProvider()
    feed = new_feed(layer, provider)
    task = asyncio.create_task(feed.run())
    hub = LiveHub(layer)
    await hub.start()
    watchers = [ListWatcher() for _ in range(50)]
    for watcher in watchers:
        await hub.watch(watcher, "MSFT")
    await provider.push("MSFT", 420.0, T0)
    async with asyncio.timeout(5):
        while not all(any('"type":"tick"' in t for t in w.texts) for w in watchers):
            await asyncio.sleep(0.01)
    assert all(sum('"type":"tick"' in t for t in w.texts) == 1 for w in watchers)

    leaving = watchers[0]
    await hub.unwatch(leaving, "MSFT")
    before = len(leaving.texts)
    await provider.push("MSFT", 421.0, T0 + timedelta(seconds=1))
    async with asyncio.timeout(5):
        while not any('"price":421.0' in t for t in watchers[1].texts):
            await asyncio.sleep(0.01)
    assert len(leaving.texts) == before
    await hub.leave(watchers[1])
    assert hub.tickers == {"MSFT"}
    for watcher in watchers[2:]:
        await hub.leave(watcher)
    assert hub.tickers == set()

    await feed.stop()
    await asyncio.wait_for(task, 5)
    await hub.stop()


def test_run_feed_refuses_the_in_memory_layer():
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("run_feed")


async def test_rules_changed_message_reloads_rules_at_once():
    from live.selectors import UserRule

    layer = InMemoryChannelLayer()
    rules: list[UserRule] = []

    async def loader():
        return list(rules)

    feed = FeedRunner(
        ScriptedProvider(),
        layer,
        config=FeedConfig(rules_refresh=3600, start_wait=0),
        rules_loader=loader,
        alert_writer=None,
    )
    task = asyncio.create_task(feed.run())
    await asyncio.sleep(0.05)
    assert feed.rules.tickers == set()
    rules.append(UserRule(user_id=1, ticker="TSLA", threshold=0.01, window=30))
    await layer.send("feed.control", {"type": "feed.rules_changed"})
    async with asyncio.timeout(5):
        while feed.rules.tickers != {"TSLA"}:
            await asyncio.sleep(0.01)
    # A ticker with a user's rule is streamed even when no socket watches it.
    async with asyncio.timeout(5):
        while "TSLA" not in feed.provider.tickers:
            await asyncio.sleep(0.01)
    await feed.stop()
    await asyncio.wait_for(task, 5)


async def test_a_hub_that_stops_refreshing_is_forgotten():
    layer = InMemoryChannelLayer()
    provider = ScriptedProvider()
    feed = FeedRunner(
        provider,
        layer,
        config=FeedConfig(interest_ttl=0.2, subscription_interval=0.05, start_wait=0),
        rules_loader=None,
        alert_writer=None,
    )
    task = asyncio.create_task(feed.run())
    await layer.send("feed.control", {"type": "feed.watch", "hub": "gone", "tickers": ["KO"]})
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    assert provider.tickers == {"KO"}
    async with asyncio.timeout(5):
        while provider.tickers:
            await asyncio.sleep(0.02)
    await feed.stop()
    await asyncio.wait_for(task, 5)


async def test_a_feed_status_the_hub_missed_reaches_the_sockets_with_the_next_heartbeat():
    # The feed's live.status went out before this hub joined (or while Redis was away): the
    # heartbeat, which carries the same status every second, brings it to the sockets once.
    layer = InMemoryChannelLayer()
    hub = LiveHub(layer, snapshot_timeout=0.1)
    await hub.start()
    watcher = ListWatcher()
    await hub.watch(watcher, "AAPL")
    connected = '{"type":"status","provider":"scripted","state":"connected"}'
    heartbeat = {"type": "live.heartbeat", "token": 0, "status": connected}

    await hub.dispatch(heartbeat)
    await hub.dispatch(heartbeat)
    assert watcher.texts[1:] == [connected]
    await hub.stop()
