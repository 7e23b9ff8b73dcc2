"""The per-process hub: one channel-layer channel per ASGI process, fanned out to sockets.

Why not one channel per socket (the channels default)? Every message a consumer receives
through the layer costs a task wake-up, a copy and, since channels 4.2, a thread round trip
to close database connections; the in-memory layer also scans every channel on each send and
receive. With 1,000 sockets that is the whole CPU. The hub instead joins each watched
ticker's group once, receives each (already JSON-encoded) message once, and writes the same
text to every local socket watching that ticker.

Contract for watchers (the WebSocket consumer): hashable objects with ``user_id`` (int or
None) and ``async send_text(text)`` that never blocks for long (a server write buffer).
``watch(watcher, ticker)`` sends the watcher a ``snapshot`` message first, then every tick
and alert of the ticker published after that snapshot (messages that arrive while the
snapshot is fetched are held and replayed if newer); ``unwatch``/``leave`` stop delivery.
Provider ``status`` messages go to every watcher. User-rule alerts go to their owners only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from tradepulse.market import Backoff

from .protocol import (
    CONTROL_CHANNEL,
    HUB_REFRESH_SECONDS,
    STATUS_GROUP,
    dumps,
    empty_snapshot,
    ticker_group,
)
from .tasks import cancel_all

logger = logging.getLogger(__name__)


class Watcher(Protocol):
    user_id: int | None

    async def send_text(self, text: str) -> None: ...


# A watcher's entry: None once live; a list of (seq, users, text) held until its snapshot.
Held = list[tuple[int, list[int] | None, str]] | None


class LiveHub:
    def __init__(
        self,
        layer,
        *,
        snapshot_timeout: float = 3.0,
        refresh_interval: float = HUB_REFRESH_SECONDS,
    ) -> None:
        self.layer = layer
        self.snapshot_timeout = snapshot_timeout
        self.refresh_interval = refresh_interval
        self.channel: str | None = None
        self.status_text: str | None = None
        self._watchers: dict[str, dict[Watcher, Held]] = {}
        self._members: dict[Watcher, set[str]] = {}
        # Watchers that have had a snapshot: only they get status messages.
        self._ready: set[Watcher] = set()
        self._snapshots: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self.delivered = 0

    async def start(self) -> None:
        self.channel = await self.layer.new_channel("live.hub.")
        await self.layer.group_add(STATUS_GROUP, self.channel)
        self._tasks = [
            asyncio.create_task(self._relay(), name="live-hub-relay"),
            asyncio.create_task(self._refresh(), name="live-hub-refresh"),
        ]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        if self.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.send(
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
            await self._call(self.layer.group_add, ticker_group(ticker), self.channel)
            await self._send_watch()
        snapshot = await self._snapshot(ticker)
        held = entry.get(watcher)
        if held is None or self._watchers.get(ticker) is not entry:
            return  # unwatched while the snapshot was on its way
        await watcher.send_text(dumps(self._snapshot_message(snapshot, watcher.user_id)))
        seq = snapshot.get("seq") or 0
        entry[watcher] = None
        self._ready.add(watcher)
        for message_seq, users, text in held:
            if message_seq > seq and (users is None or watcher.user_id in users):
                await watcher.send_text(text)

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
            await self._call(self.layer.group_discard, ticker_group(ticker), self.channel)
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
            await self._call(
                self.layer.send,
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
        # Same delays as before a Backoff: 1, 2, 4, 8, 10, 10 ... s, no jitter.
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
                    await self._deliver(watcher, text)
        elif kind == "live.status":
            self.status_text = message["text"]
            for watcher in list(self._ready):
                await self._deliver(watcher, message["text"])
        elif kind == "live.snapshot":
            pending = self._snapshots.pop(message["ticker"], None)
            if pending is not None and not pending.done():
                pending.set_result(message["snapshot"])
        elif kind == "live.hello":
            await self._send_watch()

    async def _deliver(self, watcher: Watcher, text: str) -> None:
        try:
            await watcher.send_text(text)
            self.delivered += 1
        except Exception:
            logger.warning("hub: dropping a watcher that failed to send", exc_info=True)
            await self.leave(watcher)

    # -- hub -> feed -----------------------------------------------------------------------

    async def _send_watch(self) -> None:
        await self._call(
            self.layer.send,
            CONTROL_CHANNEL,
            {"type": "feed.watch", "hub": self.channel, "tickers": sorted(self._watchers)},
        )

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            # Group membership expires in some layers; re-joining is idempotent.
            await self._call(self.layer.group_add, STATUS_GROUP, self.channel)
            for ticker in list(self._watchers):
                await self._call(self.layer.group_add, ticker_group(ticker), self.channel)
            await self._send_watch()

    async def _call(self, method, *args) -> None:
        try:
            await method(*args)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("hub: channel layer %s failed: %s", method.__name__, exc)
