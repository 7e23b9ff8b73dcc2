"""Exactly one publishing feed in the scaled mode: a lease in Redis with a fencing token.

- **Acquire**: the lease key is set only if absent, with an expiry of ``FEED_LEASE_SECONDS``
  (``SET NX PX``), to a fencing token drawn from a counter (``INCR``) at that moment, so every
  new holder has a larger token than any before it (the counter starts from Redis' clock in
  milliseconds, so it keeps growing even if Redis lost its data). The holder's pid, host and
  heartbeat time go into a hash beside it, for readiness checks.
- **Renew**: every third of the lease, only while the key still holds the holder's token.
- **Publish**: every message of the leader goes out through one Lua script that compares the
  lease's token with the publisher's and publishes only if they match, atomically in Redis.
  A former leader that was paused past its lease (and has been replaced) therefore cannot
  publish a single message when it wakes: its script finds a newer token and refuses, and the
  former leader stands down. Messages also carry the token; hubs ignore a lower one.
- **Standby**: a process that does not hold the lease tries to take it every second, so it
  takes over at most ``FEED_LEASE_SECONDS`` + 1 s after the leader died (at once when the
  leader stops cleanly and releases it).

The embedded mode (in-memory layer, the feed inside the web process) needs none of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from . import metrics

logger = logging.getLogger(__name__)

LEASE_KEY = "tradepulse:feed:lease"
TOKEN_KEY = "tradepulse:feed:token"
LEADER_KEY = "tradepulse:feed:leader"

_NOW_MS = "local now = redis.call('TIME')\nlocal now_ms = now[1] .. string.format('%03d', math.floor(now[2] / 1000))\n"

# KEYS: lease, counter, leader hash; ARGV: ttl ms, pid, host. The new token, or 0 if held.
_ACQUIRE = (
    _NOW_MS
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], now_ms) end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'token', token, 'pid', ARGV[2], 'host', ARGV[3],
           'heartbeat_ms', now_ms, 'since_ms', now_ms)
return token
"""
)

# KEYS: lease, leader hash; ARGV: token, ttl ms. 1 renewed, 0 the lease is not ours.
_RENEW = (
    _NOW_MS
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'heartbeat_ms', now_ms)
return 1
"""
)

# KEYS: lease, leader hash; ARGV: token.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'heartbeat_ms', 0)
return 1
"""

# KEYS: lease; ARGV: token, pub/sub channel, payload. -1 not ours, else the receivers.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
"""


class FeedLease:
    def __init__(self, redis, *, ttl: float, pid: int | None = None, host: str | None = None):
        self.redis = redis
        self.ttl = ttl
        self.pid = pid or os.getpid()
        self.host = host or socket.gethostname()
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    async def acquire(self) -> int | None:
        token = await self._acquire(
            keys=[LEASE_KEY, TOKEN_KEY, LEADER_KEY], args=[self.ttl_ms, self.pid, self.host]
        )
        return int(token) or None

    async def renew(self, token: int) -> bool:
        return bool(await self._renew(keys=[LEASE_KEY, LEADER_KEY], args=[token, self.ttl_ms]))

    async def release(self, token: int) -> bool:
        return bool(await self._release(keys=[LEASE_KEY, LEADER_KEY], args=[token]))


class LeaseLost(Exception):
    """Raised inside the publisher when Redis says the lease has a newer holder."""


class FencedPublisher:
    """Publishes the feed's messages through the fenced Lua script (see the module docstring).

    Messages are serialised by the channel layer itself and sent to the pub/sub channel that
    the Redis pub/sub layer (channels-redis) reads for that group or channel, so hubs receive
    them through their ordinary layer. ``lost`` is set when Redis refuses the token.
    """

    def __init__(self, redis, layer, token: int, *, prefix: str = "asgi") -> None:
        self.redis = redis
        self.layer = layer
        self.token = token
        self.pid = os.getpid()
        self.prefix = prefix
        self.lost = asyncio.Event()
        self._script = redis.register_script(_PUBLISH)
        self._failing_since: float | None = None

    async def group_send(self, group: str, message: dict[str, Any]) -> bool:
        return await self._publish(f"{self.prefix}__group__{group}", message)

    async def send(self, channel: str, message: dict[str, Any]) -> bool:
        return await self._publish(channel, message)

    async def _publish(self, channel: str, message: dict[str, Any]) -> bool:
        if self.lost.is_set():
            return False
        message["token"], message["pid"] = self.token, self.pid
        try:
            result = await self._script(
                keys=[LEASE_KEY], args=[self.token, channel, self.layer.serialize(message)]
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.LAYER_ERRORS.labels(side="feed").inc()
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                logger.warning("feed: publishing failed (Redis unavailable?): %r", exc)
            return False
        if self._failing_since is not None:
            logger.warning(
                "feed: publishing again after %.1f s", time.monotonic() - self._failing_since
            )
            self._failing_since = None
        if int(result) < 0:
            if not self.lost.is_set():
                logger.warning("feed: the lease (token %d) has a newer holder", self.token)
                self.lost.set()
            return False
        return True


async def lead_or_stand_by(
    lease: FeedLease,
    build_runner: Callable[[int], Any],
    stop: asyncio.Event,
    *,
    poll_interval: float = 1.0,
    on_change: Callable[[str, int | None], None] | None = None,
) -> None:
    """Stand by until the lease is free, then lead (run the runner ``build_runner(token)``
    returns) while it is renewed; stand by again when it is lost; until ``stop`` is set.
    ``on_change("leading" | "standby", token)`` reports each change."""
    announced = None
    failing = False
    while not stop.is_set():
        try:
            token = await lease.acquire()
            if failing:
                logger.warning("feed: Redis reachable again")
                failing = False
        except Exception as exc:
            if not failing:
                logger.warning("feed: cannot reach Redis to take the lease: %r", exc)
                failing = True
            token = None
        if token is None:
            if announced != "standby":
                announced = "standby"
                metrics.FEED_LEADER.set(0)
                logger.warning("feed: standing by (another feed holds the lease)")
                if on_change:
                    on_change("standby", None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_interval)
            continue
        announced = "leading"
        metrics.FEED_LEADER.set(1)
        logger.warning("feed: leading with token %d", token)
        if on_change:
            on_change("leading", token)
        while True:
            await _lead(lease, build_runner(token), token, stop)
            if stop.is_set():
                metrics.FEED_LEADER.set(0)
                with contextlib.suppress(Exception):
                    await lease.release(token)
                return
            try:
                still_ours = await lease.renew(token)
            except Exception:
                still_ours = False
            if not still_ours:
                break
            logger.warning("feed: still holding the lease (token %d); restarting the runner", token)
        metrics.FEED_LEADER.set(0)
        logger.warning("feed: lost the lease (token %d); standing by", token)


async def _lead(lease: FeedLease, runner, token: int, stop: asyncio.Event) -> None:
    run = asyncio.create_task(runner.run(), name="feed-runner")
    renew = asyncio.create_task(_keep(lease, token), name="feed-lease")
    waits = [run, renew, asyncio.create_task(stop.wait())]
    publisher = getattr(runner, "publisher", None)
    if isinstance(publisher, FencedPublisher):
        waits.append(asyncio.create_task(publisher.lost.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        runner.request_stop()
        for task in waits[1:]:
            task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await run
        if run.done() and not run.cancelled() and run.exception() is not None:
            logger.error("feed: the runner crashed; it starts again", exc_info=run.exception())
        for task in waits[1:]:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task


async def _keep(lease: FeedLease, token: int) -> None:
    """Renew every third of the lease; return once it is lost (or cannot have been kept)."""
    renewed = time.monotonic()
    while True:
        await asyncio.sleep(lease.ttl / 3)
        try:
            if not await lease.renew(token):
                return
            renewed = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("feed: renewing the lease failed: %r", exc)
            if time.monotonic() - renewed > lease.ttl:
                return


def leader_status(redis, ttl: float) -> dict[str, Any]:
    """``{"ok", "pid", "host", "heartbeat_age_s"}`` of the feed that holds the lease, from a
    blocking Redis client. ``ok`` is true when a feed holds the lease and renewed it within
    the lease time."""
    with redis.pipeline(transaction=True) as pipe:
        pipe.get(LEASE_KEY)
        pipe.hgetall(LEADER_KEY)
        pipe.time()
        held, info, (seconds, micros) = pipe.execute()
    info = {k.decode(): v.decode() for k, v in info.items()}
    if not info:
        return {"ok": False, "pid": None, "host": None, "heartbeat_age_s": None}
    now_ms = seconds * 1000 + micros // 1000
    age = max(0.0, (now_ms - int(info.get("heartbeat_ms") or 0)) / 1000)
    ok = held is not None and held.decode() == info.get("token") and age <= ttl
    return {
        "ok": ok,
        "pid": int(info["pid"]) if info.get("pid") else None,
        "host": info.get("host"),
        "heartbeat_age_s": round(age, 3) if info.get("heartbeat_ms") != "0" else None,
    }


def feed_leader_status() -> dict[str, Any]:
    """The active feed, for readiness checks (scaled mode): see :func:`leader_status`."""
    from django.conf import settings

    from .factories import redis_sync_client

    return leader_status(redis_sync_client(), settings.FEED_LEASE_SECONDS)
