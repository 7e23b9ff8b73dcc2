"""The scaled mode as it runs: real uvicorn web workers and ``run_feed`` processes sharing a
private ``redis-server`` that the tests kill and restart."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from tests.support.servers import ManagedProcess, ServedApp, api_token, base_env, manage

pytestmark = pytest.mark.slow


@pytest.fixture
def scaled(private_redis, tmp_path):
    """Start web processes and feeds of the scaled mode on the private Redis; stops them all."""
    env = base_env(
        tmp_path,
        REDIS_URL=private_redis.url,
        MARKET_DATA_PROVIDER="simulated",
        MARKET_SIM_RATE="20",
        MARKET_SIM_JUMP_INTERVAL="0",
        FEED_TICK_SINKS="",
        PYTHONUNBUFFERED="1",
    )
    manage(env, "migrate", "--noinput", "-v0")
    token = api_token(env, "trader")
    started: list = []

    class Scaled:
        def __init__(self):
            self.token = token
            self.redis = private_redis

        def web(self) -> int:
            app = ServedApp(env, tmp_path / f"web-{len(started)}.log")
            started.append(app)
            return app.start().port

        def feed(self) -> ManagedProcess:
            process = ManagedProcess(["manage.py", "run_feed"], env, "feed")
            started.append(process)
            return process

    yield Scaled()
    for process in started:
        process.stop()


async def open_socket(port: int, token: str, ticker: str = "AAPL"):
    from websockets.asyncio.client import connect

    ws = await connect(
        f"ws://127.0.0.1:{port}/ws/stocks/{ticker}/", origin=f"http://127.0.0.1:{port}"
    )
    await ws.send(json.dumps({"type": "auth", "token": token}))
    return ws


async def next_message(ws, predicate, timeout: float) -> list[dict]:
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            seen.append(message)
            if predicate(message):
                return seen


async def test_two_web_workers_deliver_the_same_ticks(scaled):
    first_port, second_port = scaled.web(), scaled.web()
    scaled.feed()
    sockets = [await open_socket(port, scaled.token) for port in (first_port, second_port)]
    ticks: list[list[tuple[str, float]]] = [[], []]

    async def collect(i, ws):
        while len(ticks[i]) < 40:
            message = json.loads(await ws.recv())
            if message["type"] == "tick":
                ticks[i].append((message["timestamp"], message["price"]))

    await asyncio.wait_for(asyncio.gather(*(collect(i, ws) for i, ws in enumerate(sockets))), 60)
    for ws in sockets:
        await ws.close()
    start = max(ticks[0][0][0], ticks[1][0][0])
    end = min(ticks[0][-1][0], ticks[1][-1][0])
    window = [[t for t in got if start <= t[0] <= end] for got in ticks]
    assert len(window[0]) >= 10
    assert window[0] == window[1]


async def test_feed_failover_never_has_two_feeds_publishing(scaled):
    """kill -9 the leader: the standby publishes within 10 s. Then pause the new leader past
    its lease (SIGSTOP): a third feed takes over and the paused one, woken (SIGCONT), never
    publishes again. Every message published meanwhile is recorded with its token and pid."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from live.protocol import CONTROL_CHANNEL, STATUS_GROUP, ticker_group

    layer = RedisPubSubChannelLayer(hosts=[scaled.redis.url])
    channel = await layer.new_channel("probe.")
    await layer.group_add(STATUS_GROUP, channel)
    await layer.group_add(ticker_group("AAPL"), channel)
    record: list[tuple[int, int, str]] = []  # (token, pid, type) in arrival order

    async def watch():
        while True:
            await layer.send(
                CONTROL_CHANNEL, {"type": "feed.watch", "hub": channel, "tickers": ["AAPL"]}
            )
            await asyncio.sleep(1)

    async def listen():
        while True:
            message = await layer.receive(channel)
            record.append((message["token"], message["pid"], message["type"]))

    async def first_from(pids_to_avoid: set[int], timeout: float) -> int:
        async with asyncio.timeout(timeout):
            while True:
                ticks = [pid for _, pid, kind in record if kind == "live.tick"]
                fresh = [pid for pid in ticks if pid not in pids_to_avoid]
                if fresh:
                    return fresh[0]
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(watch()), asyncio.create_task(listen())]
    try:
        feeds = {p.pid: p for p in (scaled.feed(), scaled.feed())}
        leader = await first_from(set(), 60)
        assert leader in feeds
        (standby,) = set(feeds) - {leader}
        await asyncio.sleep(2)  # the standby keeps standing by
        assert {pid for _, pid, _ in record} == {leader}

        feeds[leader].signal(signal.SIGKILL)
        assert await first_from({leader}, 10) == standby

        third = scaled.feed()
        await asyncio.sleep(5)  # the third one stands by
        feeds[standby].signal(signal.SIGSTOP)
        try:
            assert await first_from({leader, standby}, 15) == third.pid
        finally:
            feeds[standby].signal(signal.SIGCONT)
        woke = len(record)
        await asyncio.sleep(3)
        after = record[woke:]
        assert after and {pid for _, pid, _ in after} == {third.pid}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await layer.flush()

    tokens = [token for token, _, _ in record]
    assert tokens == sorted(tokens), "a message of an older leader came after a newer one"
    pids_by_token: dict[int, set[int]] = {}
    for token, pid, _ in record:
        pids_by_token.setdefault(token, set()).add(pid)
    assert all(len(pids) == 1 for pids in pids_by_token.values())
    assert [pids.pop() for _, pids in sorted(pids_by_token.items())] == [
        leader,
        standby,
        third.pid,
    ]


async def test_redis_killed_for_ten_seconds_stale_then_ticks_again(scaled):
    port = scaled.web()
    scaled.feed()
    ws = await open_socket(port, scaled.token)
    await next_message(ws, lambda m: m["type"] == "tick", timeout=60)

    scaled.redis.kill()
    killed = time.monotonic()
    seen = await next_message(ws, lambda m: m.get("state") == "stale", timeout=5)
    assert seen[-1]["type"] == "status"
    await asyncio.sleep(max(0.0, 10 - (time.monotonic() - killed)))
    scaled.redis.start()

    seen = await next_message(ws, lambda m: m["type"] == "tick", timeout=10)
    assert any(m["type"] == "status" and m["state"] != "stale" for m in seen)
    await ws.close()
