"""Live prices survive faults: failed layer calls, crashed loops, Redis away, a database
away, a former feed leader that wakes up."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from channels.layers import InMemoryChannelLayer

from live.alert_store import AlertStore, StoreUnavailable
from live.feed import FeedConfig, FeedRunner
from live.hub import LiveHub
from live.supervision import cancel_all, start_supervised
from tests.live.conftest import ORIGIN, T0, ScriptedProvider, receive_until
from tests.live.test_hub import ListWatcher
from tradepulse.alerts import SpikeAlert

pytestmark = pytest.mark.django_db(transaction=True)


def alert(i: int) -> SpikeAlert:
    return SpikeAlert("AAPL", "up", 3.0, 100.0, 103.0, 60.0, T0 + timedelta(seconds=i))


async def test_a_crashed_loop_is_logged_and_restarted(caplog):
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    task = start_supervised("flaky", flaky, initial_delay=0.01)
    async with asyncio.timeout(5):
        while len(runs) < 3:
            await asyncio.sleep(0.01)
    await cancel_all([task])
    crashes = [r for r in caplog.records if "loop flaky crashed" in r.getMessage()]
    assert len(crashes) == 2 and all(r.exc_info for r in crashes)


async def test_alerts_raised_while_the_database_is_away_are_stored_when_it_is_back():
    stored: list = []
    database_up = asyncio.Event()

    async def writer(batch):
        if not database_up.is_set():
            raise StoreUnavailable("connection refused")
        stored.extend(batch)

    store = AlertStore(writer, capacity=100, batch_size=7, retry_initial=0.01, retry_maximum=0.05)
    task = asyncio.create_task(store.run())
    for i in range(30):
        assert store.put(alert(i), None)
    await asyncio.sleep(0.2)
    assert stored == [] and len(store) == 30
    database_up.set()
    async with asyncio.timeout(5):
        while len(stored) < 30:
            await asyncio.sleep(0.01)
    assert [a.timestamp for a, _ in stored] == [alert(i).timestamp for i in range(30)]
    assert store.stored == 30 and len(store) == 0
    await cancel_all([task])


async def test_alert_queue_overflow_is_logged_and_counted(caplog):
    from prometheus_client import REGISTRY

    def overflowed() -> float:
        return (
            REGISTRY.get_sample_value("tradepulse_live_alerts_failed_total", {"reason": "overflow"})
            or 0.0
        )

    async def writer(batch):
        raise StoreUnavailable("down")

    before = overflowed()
    store = AlertStore(writer, capacity=5)
    results = [store.put(alert(i), None) for i in range(8)]
    assert results == [True] * 5 + [False] * 3
    assert store.overflowed == 3 and overflowed() - before == 3
    assert any("alert store queue full" in r.getMessage() for r in caplog.records)


async def test_sockets_are_told_prices_are_stale_when_the_feed_goes_silent_and_when_it_is_back():
    layer = InMemoryChannelLayer()
    hub = LiveHub(layer, snapshot_timeout=0.1, stale_after=0.3)
    await hub.start()
    watcher = ListWatcher()
    await hub.watch(watcher, "AAPL")
    # No feed: within the stale time the watcher is told.
    async with asyncio.timeout(5):
        while not any('"state":"stale"' in t for t in watcher.texts):
            await asyncio.sleep(0.02)

    provider = ScriptedProvider()
    feed = FeedRunner(
        provider,
        layer,
        config=FeedConfig(publish_interval=0.02, start_wait=0, heartbeat_interval=0.05),
        rules_loader=None,
        alert_writer=None,
    )
    task = asyncio.create_task(feed.run())
    async with asyncio.timeout(5):
        await provider.subscribed.wait()
    async with asyncio.timeout(5):
        while not any('"state":"connected"' in t for t in watcher.texts):
            await asyncio.sleep(0.02)
    await provider.push("AAPL", 230.0, T0)
    async with asyncio.timeout(5):
        while not any('"type":"tick"' in t for t in watcher.texts):
            await asyncio.sleep(0.02)
    await feed.stop()
    await asyncio.wait_for(task, 5)
    await hub.stop()


@pytest.fixture
def private_redis_layers(settings, private_redis):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [private_redis.url]},
        }
    }
    settings.FEED_IN_PROCESS = False
    settings.REDIS_URL = private_redis.url
    return private_redis


async def test_redis_away_for_ten_seconds_stale_status_then_ticks_on_the_same_socket(
    private_redis_layers, connect, session_cookie
):
    from channels_redis.pubsub import RedisPubSubChannelLayer

    private_redis = private_redis_layers
    feed_layer = RedisPubSubChannelLayer(hosts=[private_redis.url])
    provider = ScriptedProvider()
    feed = FeedRunner(
        provider,
        feed_layer,
        config=FeedConfig(publish_interval=0.05, start_wait=0),
        rules_loader=None,
        alert_writer=None,
    )
    feed_task = asyncio.create_task(feed.run())
    try:
        ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
        await receive_until(ws, lambda m: m["type"] == "snapshot", timeout=10)
        async with asyncio.timeout(5):
            await provider.subscribed.wait()
        now = datetime.now(UTC)
        await provider.push("AAPL", 230.0, now)
        await receive_until(ws, lambda m: m["type"] == "tick", timeout=5)

        private_redis.kill()
        # Ticks keep coming from the provider; none can be published.
        for i in range(3):
            await provider.push("AAPL", 231.0 + i, now + timedelta(seconds=1 + i))
        seen = await receive_until(ws, lambda m: m.get("state") == "stale", timeout=5)
        assert not any(m["type"] == "tick" for m in seen)
        await asyncio.sleep(10 - 5)
        private_redis.start()

        async def tick_after_restart():
            i = 0
            while True:
                i += 1
                await provider.push("AAPL", 240.0 + i, now + timedelta(seconds=10 + i))
                await asyncio.sleep(0.2)

        pusher = asyncio.create_task(tick_after_restart())
        try:
            seen = await receive_until(
                ws, lambda m: m["type"] == "tick" and m["price"] > 240, timeout=10
            )
        finally:
            await cancel_all([pusher])
        assert any(m["type"] == "status" and m["state"] == "connected" for m in seen)
    finally:
        await feed.stop()
        await asyncio.wait_for(feed_task, 10)
        await feed_layer.flush()


async def test_a_former_leader_cannot_publish_after_a_standby_took_the_lease(private_redis):
    import redis.asyncio
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from live.lease import FeedLease, FencedPublisher, leader_status
    from live.protocol import STATUS_GROUP

    client = redis.asyncio.Redis.from_url(private_redis.url)
    layer = RedisPubSubChannelLayer(hosts=[private_redis.url])
    hub_channel = await layer.new_channel("probe.")
    await layer.group_add(STATUS_GROUP, hub_channel)
    await asyncio.sleep(0.1)

    old = FeedLease(client, ttl=0.5, pid=1001, host="a")
    new = FeedLease(client, ttl=0.5, pid=1002, host="b")
    first = await old.acquire()
    assert first and await new.acquire() is None
    old_publisher = FencedPublisher(client, layer, first)
    assert await old_publisher.group_send(STATUS_GROUP, {"type": "live.heartbeat", "n": 1})
    message = await asyncio.wait_for(layer.receive(hub_channel), 5)
    assert (message["token"], message["n"]) == (first, 1)

    # The old leader is paused past its lease; the standby takes it.
    await asyncio.sleep(0.7)
    second = await new.acquire()
    assert second and second > first

    # Woken up, the old leader publishes nothing and learns it lost the lease.
    assert not await old_publisher.group_send(STATUS_GROUP, {"type": "live.heartbeat", "n": 2})
    assert old_publisher.lost.is_set()
    assert not await old.renew(first)
    new_publisher = FencedPublisher(client, layer, second)
    assert await new_publisher.group_send(STATUS_GROUP, {"type": "live.heartbeat", "n": 3})
    message = await asyncio.wait_for(layer.receive(hub_channel), 5)
    assert (message["token"], message["n"]) == (second, 3)

    import redis as sync_redis

    status = leader_status(sync_redis.Redis.from_url(private_redis.url), ttl=0.5)
    assert status["ok"] is True and (status["pid"], status["host"]) == (1002, "b")
    assert 0 <= status["heartbeat_age_s"] < 0.5
    await layer.flush()
    await client.aclose()


async def test_a_standby_takes_over_when_the_leader_stops_renewing(private_redis, caplog):
    """Two leader-or-standby loops on one Redis: exactly one leads; when its process dies
    (its loop is cancelled, nothing released), the other leads within the lease time."""
    import redis.asyncio

    from live.lease import FeedLease, lead_or_stand_by

    caplog.set_level(logging.WARNING)
    client = redis.asyncio.Redis.from_url(private_redis.url)
    leading: list[tuple[str, int]] = []

    class Runner:
        def __init__(self, name):
            self.name = name
            self.stopped = asyncio.Event()

        async def run(self):
            await self.stopped.wait()

        def request_stop(self):
            self.stopped.set()

    def loop_for(name, pid):
        lease = FeedLease(client, ttl=0.6, pid=pid, host=name)

        def build(token):
            leading.append((name, token))
            return Runner(name)

        return asyncio.create_task(
            lead_or_stand_by(lease, build, asyncio.Event(), poll_interval=0.1)
        )

    a = loop_for("a", 1)
    await asyncio.sleep(0.3)
    b = loop_for("b", 2)
    await asyncio.sleep(0.5)
    assert [name for name, _ in leading] == ["a"]
    a.cancel()  # the leader dies without releasing
    async with asyncio.timeout(5):
        while len(leading) < 2:
            await asyncio.sleep(0.05)
    assert [name for name, _ in leading] == ["a", "b"] and leading[1][1] > leading[0][1]
    await cancel_all([a, b])
    await client.aclose()


async def test_a_leading_runner_that_crashes_is_logged_and_restarted_under_the_same_lease(
    private_redis, caplog
):
    import redis.asyncio

    from live.lease import FeedLease, lead_or_stand_by

    client = redis.asyncio.Redis.from_url(private_redis.url)
    built: list[int] = []
    stop = asyncio.Event()

    class Runner:
        def __init__(self):
            self.stopped = asyncio.Event()

        async def run(self):
            if len(built) == 1:
                raise RuntimeError("runner bug")
            await self.stopped.wait()

        def request_stop(self):
            self.stopped.set()

    def build(token):
        built.append(token)
        return Runner()

    task = asyncio.create_task(
        lead_or_stand_by(FeedLease(client, ttl=5), build, stop, poll_interval=0.1)
    )
    async with asyncio.timeout(5):
        while len(built) < 2:
            await asyncio.sleep(0.02)
    assert built[0] == built[1]
    assert any("runner crashed" in r.getMessage() and r.exc_info for r in caplog.records)
    stop.set()
    await asyncio.wait_for(task, 5)
    await client.aclose()
