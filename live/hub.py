"""The per-process hub: one channel-layer channel per ASGI process, fanned out to sockets.

Why not one channel per socket (the channels default)? Every message a consumer receives
through the layer costs a task wake-up, a copy and, since channels 4.2, a thread round trip
to close database connections; the in-memory layer also scans every channel on each send and
receive. With 1,000 sockets that is the whole CPU. The hub instead joins each watched
ticker's group once, receives each (already JSON-encoded) message once, and hands the same
text to every local socket watching that ticker.

Contract for watchers (the WebSocket consumer): hashable objects with ``user_id`` (int or
None) and ``send_text(text)``, a plain function that queues the text for the socket and
returns at once (the socket's own writer drains the queue; a socket that does not read is
closed by its consumer, never waited for). ``watch(watcher, ticker)`` sends the watcher a
``snapshot`` message first, then every tick and alert of the ticker published after that
snapshot (messages that arrive while the snapshot is fetched are held and replayed if newer);
``unwatch``/``leave`` stop delivery. Provider ``status`` messages go to every watcher.
User-rule alerts go to their owners only.

Staleness: the feed sends a heartbeat every second. When the hub hears nothing from the feed
for ``stale_after`` seconds (the feed died, or Redis is away), every watcher gets a ``status``
message with state ``stale``; when the feed is heard again, the hub re-joins its groups, sends
its watch list at once, and every watcher gets the feed's current status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from tradepulse.market import Backoff
from tradepulse.timeutil import format_timestamp

from . import metrics
from .layer import LayerClient
from .protocol import (
    CONTROL_CHANNEL,
    HUB_REFRESH_SECONDS,
    STALE_AFTER_SECONDS,
    STATUS_GROUP,
    dumps,
    empty_snapshot,
    ticker_group,
)
from .supervision import cancel_all, start_supervised

logger = logging.getLogger(__name__)


class Watcher(Protocol):
    user_id: int | None

    def send_text(self, text: str) -> None: ...


# A watcher's entry: None once live; a list of (seq, users, text) held until its snapshot.
Held = list[tuple[int, list[int] | None, str]] | None


class LiveHub:
    def __init__(
        self,
        layer,
        *,
        snapshot_timeout: float = 3.0,
        refresh_interval: float = HUB_REFRESH_SECONDS,
        stale_after: float = STALE_AFTER_SECONDS,
    ) -> None:
        self.layer = LayerClient(layer, "hub")
        self.snapshot_timeout = snapshot_timeout
        self.refresh_interval = refresh_interval
        self.stale_after = stale_after
        self.channel: str | None = None
        self.status_text: str | None = None
        self.stale = False
        self._feed_status_text: str | None = None
        self._heard: float = 0.0
        self._token = 0
        self._watchers: dict[str, dict[Watcher, Held]] = {}
        self._members: dict[Watcher, set[str]] = {}
        # Watchers that have had a snapshot: only they get status messages.
        self._ready: set[Watcher] = set()
        self._snapshots: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self.delivered = 0
        self._counted = 0

    async def start(self) -> None:
        self.channel = await self.layer.layer.new_channel("live.hub.")
        self._heard = asyncio.get_running_loop().time()
        await self.layer.call("group_add", STATUS_GROUP, self.channel)
        self._tasks = [
            start_supervised("hub-relay", self._relay),
            start_supervised("hub-refresh", self._refresh),
            start_supervised("hub-watchdog", self._watchdog),
        ]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        self._count_metrics()
        if self.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.layer.send(
                    CONTROL_CHANNEL, {"type": "feed.watch", "hub": self.channel, "tickers": []}
                )

    @property
    def tickers(self) -> set[str]:
        return set(self._watchers)

    def watching(self, watcher: Watcher) -> set[str]:
        return set(self._members.get(watcher, ()))

    # -- watchers --------------------------------------------------------------------------

    async def watch(self, watcher: Watcher, ticker: str) -> None:
        tickers = self._members.setdefault(watcher, set())
        if ticker in tickers:
            return
        tickers.add(ticker)
        entry = self._watchers.get(ticker)
        first = entry is None
        if entry is None:
            entry = self._watchers[ticker] = {}
        entry[watcher] = []
        if first:
            # A failure here (Redis away) is repaired by the refresh loop.
            await self.layer.call("group_add", ticker_group(ticker), self.channel)
            await self._send_watch()
        snapshot = await self._snapshot(ticker)
        held = entry.get(watcher)
        if held is None or self._watchers.get(ticker) is not entry:
            return  # unwatched while the snapshot was on its way
        watcher.send_text(dumps(self._snapshot_message(snapshot, watcher.user_id)))
        seq = snapshot.get("seq") or 0
        entry[watcher] = None
        self._ready.add(watcher)
        for message_seq, users, text in held:
            if message_seq > seq and (users is None or watcher.user_id in users):
                watcher.send_text(text)
        if self.stale and self.status_text is not None:
            watcher.send_text(self.status_text)

    async def unwatch(self, watcher: Watcher, ticker: str) -> None:
        tickers = self._members.get(watcher)
        if tickers is None or ticker not in tickers:
            return
        tickers.discard(ticker)
        if not tickers:
            del self._members[watcher]
            self._ready.discard(watcher)
        entry = self._watchers.get(ticker)
        if entry is None:
            return
        entry.pop(watcher, None)
        if not entry:
            del self._watchers[ticker]
            await self.layer.call("group_discard", ticker_group(ticker), self.channel)
            await self._send_watch()

    async def leave(self, watcher: Watcher) -> None:
        for ticker in list(self._members.get(watcher, ())):
            await self.unwatch(watcher, ticker)

    @staticmethod
    def _snapshot_message(snapshot: dict[str, Any], user_id: int | None) -> dict[str, Any]:
        message = {"type": "snapshot", **snapshot}
        message.pop("seq", None)
        message["alerts"] = [
            item["alert"]
            for item in snapshot.get("alerts", ())
            if item["users"] is None or user_id in item["users"]
        ]
        return message

    async def _snapshot(self, ticker: str) -> dict[str, Any]:
        pending = self._snapshots.get(ticker)
        if pending is None:
            pending = self._snapshots[ticker] = asyncio.get_running_loop().create_future()
            await self.layer.call(
                "send",
                CONTROL_CHANNEL,
                {"type": "feed.snapshot", "hub": self.channel, "tickers": [ticker]},
            )
        try:
            async with asyncio.timeout(self.snapshot_timeout):
                return await asyncio.shield(pending)
        except TimeoutError:
            # No feed answered (not started yet, or restarting): start from an empty
            # snapshot; ticks fill it in.
            if self._snapshots.get(ticker) is pending:
                del self._snapshots[ticker]
            snapshot = empty_snapshot(ticker)
            if self.status_text is not None:
                snapshot["status"] = json.loads(self.status_text)
            return snapshot

    # -- layer -> sockets ------------------------------------------------------------------

    async def _relay(self) -> None:
        backoff = Backoff(initial=1.0, maximum=10.0, jitter=0.0)
        while True:
            try:
                message = await self.layer.receive(self.channel)
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub: channel layer receive failed")
                await asyncio.sleep(backoff.next())
                continue
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("hub: cannot deliver %r", message.get("type"))

    async def dispatch(self, message: dict[str, Any]) -> None:
        token = message.get("token")
        if token is not None:
            if token < self._token:
                return  # from a feed that has lost its lease since
            self._token = token
            self._heard = asyncio.get_running_loop().time()
            if self.stale:
                await self._recovered()
        kind = message.get("type")
        if kind == "live.tick" or kind == "live.alert":
            entry = self._watchers.get(message["ticker"])
            if not entry:
                return
            text = message["text"]
            users = message.get("users")
            seq = message.get("seq") or 0
            for watcher, held in list(entry.items()):
                if held is not None:
                    held.append((seq, users, text))
                elif users is None or watcher.user_id in users:
                    self._deliver(watcher, text)
        elif kind == "live.status":
            self._feed_status_text = message["text"]
            self._announce(message["text"])
        elif kind == "live.heartbeat":
            status = message.get("status")
            self._feed_status_text = status
            if status is not None and status != self.status_text and not self.stale:
                # A status the sockets have not had (its live.status was published before
                # this hub joined, or lost while Redis was away): every heartbeat repairs it.
                self._announce(status)
        elif kind == "live.snapshot":
            pending = self._snapshots.pop(message["ticker"], None)
            if pending is not None and not pending.done():
                pending.set_result(message["snapshot"])
        elif kind == "live.hello":
            await self._send_watch()

    def _announce(self, status_text: str) -> None:
        """Make ``status_text`` the status every socket has, and send it to each."""
        self.status_text = status_text
        for watcher in list(self._ready):
            self._deliver(watcher, status_text)

    def _deliver(self, watcher: Watcher, text: str) -> None:
        watcher.send_text(text)
        self.delivered += 1

    # -- staleness -------------------------------------------------------------------------

    async def _watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.5, self.stale_after / 4))
            self._count_metrics()
            silent = loop.time() - self._heard
            if not self.stale and silent > self.stale_after:
                self._went_stale(silent)

    def _went_stale(self, silent: float) -> None:
        self.stale = True
        provider = "feed"
        if self._feed_status_text:
            with contextlib.suppress(ValueError, TypeError):
                provider = json.loads(self._feed_status_text).get("provider") or provider
        reason = (
            f"no word from the price feed for {silent:.0f} s: the feed or Redis is unavailable"
            if self.layer.healthy
            else "the channel layer (Redis) is unavailable"
        )
        logger.warning("hub: prices are stale (%s)", reason)
        self._announce(
            dumps(
                {
                    "type": "status",
                    "provider": provider,
                    "state": "stale",
                    "reason": reason,
                    "timestamp": format_timestamp(datetime.now(UTC)),
                }
            )
        )

    async def _recovered(self) -> None:
        self.stale = False
        logger.warning("hub: the price feed is back")
        if self._feed_status_text is not None:
            self._announce(self._feed_status_text)
        else:
            self.status_text = None
        await self._rejoin()

    def _count_metrics(self) -> None:
        metrics.MESSAGES_SENT.inc(self.delivered - self._counted)
        self._counted = self.delivered

    # -- hub -> feed -----------------------------------------------------------------------

    async def _send_watch(self) -> None:
        await self.layer.call(
            "send",
            CONTROL_CHANNEL,
            {"type": "feed.watch", "hub": self.channel, "tickers": sorted(self._watchers)},
        )

    async def _rejoin(self) -> None:
        # Group membership expires in some layers, and a join may have failed while Redis
        # was away; re-joining is idempotent.
        await self.layer.call("group_add", STATUS_GROUP, self.channel)
        for ticker in list(self._watchers):
            await self.layer.call("group_add", ticker_group(ticker), self.channel)
        await self._send_watch()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            await self._rejoin()
