"""Storing the feed's alerts: a bounded retry queue between the tick path and the database.

The feed puts each alert (with the user whose rule fired it, None for the global rule) into
the queue and never waits. ``run()`` stores the queue in batches (one INSERT per batch, in a
worker thread). While the database is away (``StoreUnavailable``) the batch stays at the head
of the queue and is retried with backoff, so alerts raised during an outage are stored once
the database is back. The queue holds at most ``capacity`` alerts (``ALERT_STORE_QUEUE_SIZE``):
an alert that finds it full is not stored, which is logged and counted
(``tradepulse_live_alerts_failed_total{reason="overflow"}``), never silent. A batch the
database refuses for another reason is logged and counted as ``rejected``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from tradepulse.alerts import SpikeAlert
from tradepulse.market import Backoff

from . import metrics

logger = logging.getLogger(__name__)

AlertBatch = list[tuple[SpikeAlert, int | None]]
AlertWriter = Callable[[AlertBatch], Awaitable[Any]]


class StoreUnavailable(Exception):
    """The database cannot be reached; the same batch may be written again later."""


async def write_alerts_to_db(batch: AlertBatch) -> int:
    from channels.db import database_sync_to_async
    from django.db import InterfaceError, OperationalError

    from .services import alerts_store

    try:
        return await database_sync_to_async(alerts_store)(batch)
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(str(exc)) from exc


class AlertStore:
    def __init__(
        self,
        writer: AlertWriter | None,
        *,
        capacity: int = 10_000,
        batch_size: int = 500,
        retry_initial: float = 0.5,
        retry_maximum: float = 10.0,
    ) -> None:
        self.writer = writer
        self.capacity = capacity
        self.batch_size = batch_size
        self._retry = (retry_initial, retry_maximum)
        self._queue: deque[tuple[SpikeAlert, int | None]] = deque()
        self._wake = asyncio.Event()
        self.stored = 0
        self.overflowed = 0
        self.rejected = 0
        self.unavailable_since: float | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, alert: SpikeAlert, user_id: int | None) -> bool:
        """Queue one alert for storage; False (logged, counted) when the queue is full."""
        if self.writer is None:
            return True
        if len(self._queue) >= self.capacity:
            self.overflowed += 1
            metrics.ALERTS_FAILED.labels(reason="overflow").inc()
            if self.overflowed in (1, 10, 100) or self.overflowed % 1000 == 0:
                logger.error(
                    "feed: alert store queue full (%d); %d alert(s) not stored so far",
                    self.capacity,
                    self.overflowed,
                )
            return False
        self._queue.append((alert, user_id))
        metrics.ALERT_QUEUE.inc()
        self._wake.set()
        return True

    async def run(self) -> None:
        """Store queued alerts until cancelled; retries while the database is away."""
        backoff = Backoff(initial=self._retry[0], maximum=self._retry[1], jitter=0.2)
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._head()
            try:
                await self._write(batch)
            except StoreUnavailable as exc:
                if self.unavailable_since is None:
                    self.unavailable_since = loop.time()
                    logger.warning(
                        "feed: database unavailable (%s); %d alert(s) wait to be stored",
                        exc,
                        len(self._queue),
                    )
                await asyncio.sleep(backoff.next())
                continue
            if self.unavailable_since is not None:
                logger.warning(
                    "feed: database back after %.1f s; storing queued alerts",
                    loop.time() - self.unavailable_since,
                )
                self.unavailable_since = None
            backoff.reset()

    async def drain(self) -> None:
        """At shutdown: try once to store what is queued; count (and log) what is left."""
        while self._queue:
            try:
                await self._write(self._head())
            except StoreUnavailable:
                left = len(self._queue)
                self._queue.clear()
                metrics.ALERT_QUEUE.dec(left)
                metrics.ALERTS_FAILED.labels(reason="shutdown").inc(left)
                logger.error("feed: stopping with the database away; %d alert(s) not stored", left)
                return

    def _head(self) -> AlertBatch:
        return [self._queue[i] for i in range(min(self.batch_size, len(self._queue)))]

    async def _write(self, batch: AlertBatch) -> None:
        assert self.writer is not None
        try:
            await self.writer(batch)
        except (asyncio.CancelledError, StoreUnavailable):
            raise
        except Exception:
            logger.exception("feed: the database refused %d alert(s); they are dropped", len(batch))
            self.rejected += len(batch)
            metrics.ALERTS_FAILED.labels(reason="rejected").inc(len(batch))
        else:
            self.stored += len(batch)
            metrics.ALERTS_STORED.inc(len(batch))
        for _ in batch:
            self._queue.popleft()
        metrics.ALERT_QUEUE.dec(len(batch))
