"""The feed runner end to end: replay -> alerts stored and delivered; coalescing; tick sinks;
users' own rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from live.feed import FeedConfig, FeedRunner
from live.models import Alert, AlertRule
from live.protocol import ticker_group
from tests.live.conftest import ORIGIN, T0, ScriptedProvider, receive_until, spike_rows, ticks_csv
from tradepulse.market import Tick
from tradepulse.timeutil import format_timestamp

pytestmark = pytest.mark.django_db(transaction=True)


async def wait_for_rows(query, count: int, timeout: float = 5.0):
    async with asyncio.timeout(timeout):
        while True:
            rows = await database_sync_to_async(lambda: list(query()))()
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)


async def test_replayed_spike_reaches_the_socket_and_is_stored(
    connect, session_cookie, settings, tmp_path
):
    settings.MARKET_DATA_PROVIDER = "replay"
    settings.MARKET_REPLAY_FILE = ticks_csv(tmp_path / "spike.csv", spike_rows("AAPL"))
    settings.MARKET_REPLAY_SPEED = 0
    settings.MARKET_REPLAY_REBASE = False
    settings.FEED_IN_PROCESS = True

    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    seen = await receive_until(ws, lambda m: m["type"] == "alert", timeout=10)
    ticks = [m for m in seen if m["type"] == "tick"]
    assert ticks, "no tick before the alert"
    alert = seen[-1]
    assert alert["ticker"] == "AAPL" and alert["direction"] == "up"
    assert alert["timestamp"] == format_timestamp(T0 + timedelta(seconds=20))
    assert ticks[-1]["price"] == alert["price"] == 103.0

    rows = await wait_for_rows(lambda: Alert.objects.all(), 1)
    assert len(rows) == 1
    row = rows[0]
    assert (row.ticker, row.direction, row.user_id) == ("AAPL", "up", None)
    assert row.price == 103.0 and row.reference_price == 100.0
    assert row.change_pct == pytest.approx(3.0)
    assert row.window_seconds == 60.0
    assert row.timestamp == T0 + timedelta(seconds=20)


async def test_burst_of_ticks_becomes_one_message_with_the_last_price(
    connect, session_cookie, scripted_feed
):
    ws = await connect("NVDA", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    provider = scripted_feed.provider
    await provider.subscribed.wait()
    # 1,000 ticks queued without yielding: the feed takes them in one go, within one interval.
    for i in range(1000):
        provider.inbox.put_nowait(
            Tick("NVDA", 140.0 + (i % 7) * 0.01, T0 + timedelta(milliseconds=i))
        )
    provider.inbox.put_nowait(Tick("NVDA", 140.5, T0 + timedelta(seconds=1)))
    await asyncio.sleep(0.5)  # ten publish intervals
    ticks = []
    while not await ws.receive_nothing(timeout=0.1):
        message = await ws.receive_json_from()
        if message["type"] == "tick":
            ticks.append(message)
    assert [t["price"] for t in ticks] == [140.5]
    assert scripted_feed.feed.ticks_received == 1001


class RecordingSink:
    """A tick sink as paper trading uses it: it records what the runner does with it."""

    def __init__(self, tickers):
        self.wanted = set(tickers)
        self.calls = []
        self.ticks = []

    async def start(self):
        self.calls.append("start")

    def tickers(self):
        return set(self.wanted)

    async def on_tick(self, tick):
        self.ticks.append(tick)

    async def stop(self):
        self.calls.append("stop")


class BrokenSink(RecordingSink):
    async def on_tick(self, tick):
        raise RuntimeError("sink bug")


async def test_tick_sinks_get_every_raw_tick_of_their_tickers():
    layer = InMemoryChannelLayer()
    provider = ScriptedProvider()
    sink = RecordingSink({"AMD"})
    broken = BrokenSink({"AMD"})
    feed = FeedRunner(
        provider,
        layer,
        config=FeedConfig(publish_interval=0.05, subscription_interval=0.05, start_wait=0),
        sinks=[broken, sink],
        rules_loader=None,
        alert_writer=None,
    )
    task = asyncio.create_task(feed.run())
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    assert provider.tickers == {"AMD"}, "the sink's tickers are subscribed"
    sent = [Tick("AMD", 120.0 + i * 0.01, T0 + timedelta(milliseconds=i)) for i in range(50)]
    for tick in sent:
        await provider.push(tick.ticker, tick.price, tick.timestamp)
    async with asyncio.timeout(5):
        while len(sink.ticks) < 50:
            await asyncio.sleep(0.01)
    assert sink.ticks == sent, "every tick, uncoalesced, in order, despite the broken sink"

    sink.wanted = {"AMD", "INTC"}
    async with asyncio.timeout(5):
        while "INTC" not in provider.tickers:
            await asyncio.sleep(0.01)
    await provider.push("INTC", 20.0, T0)
    await provider.push("AMD", 121.0, T0 + timedelta(seconds=1))
    async with asyncio.timeout(5):
        while len(sink.ticks) < 52:
            await asyncio.sleep(0.01)
    assert [t.ticker for t in sink.ticks[50:]] == ["INTC", "AMD"]

    await feed.stop()
    await asyncio.wait_for(task, 5)
    assert sink.calls == ["start", "stop"]


async def test_sink_ticks_of_other_tickers_are_not_forwarded():
    layer = InMemoryChannelLayer()
    provider = ScriptedProvider()
    sink = RecordingSink({"AMD"})
    feed = FeedRunner(
        provider,
        layer,
        config=FeedConfig(start_wait=0),
        sinks=[sink],
        rules_loader=None,
        alert_writer=None,
    )
    feed.watch("hub-1", ["AAPL"])
    task = asyncio.create_task(feed.run())
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    assert provider.tickers == {"AMD", "AAPL"}
    await provider.push("AAPL", 230.0, T0)
    await provider.push("AMD", 120.0, T0)
    async with asyncio.timeout(5):
        while feed.ticks_received < 2:
            await asyncio.sleep(0.01)
    assert [t.ticker for t in sink.ticks] == ["AMD"]
    await feed.stop()
    await asyncio.wait_for(task, 5)


async def test_feed_publishes_coalesced_ticks_to_the_ticker_group():
    layer = InMemoryChannelLayer()
    provider = ScriptedProvider()
    feed = FeedRunner(
        provider,
        layer,
        config=FeedConfig(publish_interval=0.05, start_wait=0),
        rules_loader=None,
        alert_writer=None,
    )
    await layer.group_add(ticker_group("^GSPC"), "probe")
    feed.watch("probe", ["^GSPC"])
    task = asyncio.create_task(feed.run())
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    await provider.push("^GSPC", 6000.0, T0)
    async with asyncio.timeout(5):
        message = await layer.receive("probe")
        while message["type"] != "live.tick":
            message = await layer.receive("probe")
    assert message["ticker"] == "^GSPC"
    assert '"price":6000.0' in message["text"]
    await feed.stop()
    await asyncio.wait_for(task, 5)


@pytest.fixture
def other_cookie(transactional_db, other_user):
    from django.test import Client

    client = Client()
    client.force_login(other_user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def test_user_rule_alerts_go_to_their_owner_only(
    connect, session_cookie, other_cookie, scripted_feed, user
):
    await database_sync_to_async(AlertRule.objects.create)(
        user=user, ticker="AAPL", threshold_pct="1.00", window_seconds=30
    )
    mine = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await mine.receive_json_from(timeout=5)
    theirs = await connect("AAPL", headers=[ORIGIN, other_cookie])
    await theirs.receive_json_from(timeout=5)
    provider = scripted_feed.provider
    await provider.subscribed.wait()
    await provider.push("AAPL", 200.0, T0)
    await provider.push("AAPL", 203.0, T0 + timedelta(seconds=10))  # +1.5 %: my rule only
    await provider.push("AAPL", 203.1, T0 + timedelta(seconds=11))

    seen = await receive_until(mine, lambda m: m["type"] == "alert")
    alert = seen[-1]
    assert alert["scope"] == "user" and alert["window_seconds"] == 30.0
    assert alert["change_pct"] == pytest.approx(1.5)
    other_seen = await receive_until(theirs, lambda m: m.get("price") == 203.1)
    assert not any(m["type"] == "alert" for m in other_seen)

    rows = await wait_for_rows(lambda: Alert.objects.all(), 1)
    assert [(r.user_id, r.direction) for r in rows] == [(user.pk, "up")]

    # The snapshot of another socket of mine carries the alert; the other user's does not.
    again = await connect("AAPL", headers=[ORIGIN, session_cookie])
    assert [a["scope"] for a in (await again.receive_json_from(timeout=5))["alerts"]] == ["user"]
    other_again = await connect("AAPL", headers=[ORIGIN, other_cookie])
    assert (await other_again.receive_json_from(timeout=5))["alerts"] == []


async def test_changed_rules_are_picked_up_without_restart(
    connect, session_cookie, scripted_feed, user
):
    ws = await connect("MSFT", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    provider = scripted_feed.provider
    await provider.subscribed.wait()
    await database_sync_to_async(AlertRule.objects.create)(
        user=user, ticker="MSFT", threshold_pct="0.50", window_seconds=60
    )
    feed = scripted_feed.feed
    async with asyncio.timeout(5):
        while "MSFT" not in feed.rules.tickers:
            await asyncio.sleep(0.02)
    now = datetime.now(UTC)
    await provider.push("MSFT", 400.0, now)
    await provider.push("MSFT", 398.0, now + timedelta(seconds=1))  # -0.5 %
    alert = (await receive_until(ws, lambda m: m["type"] == "alert"))[-1]
    assert alert["scope"] == "user" and alert["direction"] == "down"
