"""The market data provider contract shared by every source of ticks."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar, Self

from tradepulse.symbols import normalize_ticker

from .backoff import Backoff
from .ticks import ProviderState, ProviderStatus, Tick

__all__ = ["MarketDataProvider", "StreamItem"]

logger = logging.getLogger(__name__)

StreamItem = Tick | ProviderStatus
Sleep = Callable[[float], Awaitable[None]]

_END = object()


class MarketDataProvider(abc.ABC):
    """A source of live ticks for a changing set of tickers.

    Contract:

    - `ticks()` is an async iterator of `Tick` and `ProviderStatus` items, in arrival order.
      Only one consumer may iterate at a time. Iteration starts the provider; it ends when
      `close()` is called or, for finite sources (a replay without looping), when the data
      runs out. Ticks of one ticker arrive in event-time order as far as the source delivers
      them so; consumers must still tolerate an older tick (the alert engine drops it).
    - Failures of the source never end the stream: they are logged, retried with backoff,
      and reported as `ProviderStatus` items (`reconnecting`, `stale`, then `connected`).
    - `subscribe()` / `unsubscribe()` may be called at any time, before or during
      iteration; they return once the change is recorded and the provider applies it to
      its source as soon as it can. `tickers` is the current subscribed set.
    - When `empty_means_all` is true (feeds with a fixed set of tickers: replay, websocket)
      an empty subscription means "every ticker the source carries"; otherwise an empty
      subscription produces no ticks.
    - `close()` is idempotent and safe to call from another task.

    Subclasses implement `_produce()`, calling `await self._emit(item)` for each item; the
    base class runs it in a task, restarts it with backoff if it raises, and ends the stream
    when it returns.
    """

    name: ClassVar[str] = "provider"
    empty_means_all: ClassVar[bool] = False

    def __init__(
        self,
        tickers: Iterable[str] = (),
        *,
        queue_size: int = 10_000,
        sleep: Sleep | None = None,
    ) -> None:
        self._tickers: set[str] = {normalize_ticker(t) for t in tickers}
        self._queue_size = queue_size
        self._queue: asyncio.Queue[object] | None = None
        self._producer: asyncio.Task[None] | None = None
        self._closed = False
        self._iterating = False
        self._subscription_changed = asyncio.Event()
        # Injectable so tests can observe retry delays without waiting for them.
        self._sleep: Sleep = sleep or asyncio.sleep
        self.last_status: ProviderStatus | None = None

    # -- subscriptions -------------------------------------------------------------------

    @property
    def tickers(self) -> frozenset[str]:
        return frozenset(self._tickers)

    async def subscribe(self, tickers: Iterable[str]) -> None:
        added = {normalize_ticker(t) for t in tickers} - self._tickers
        if added:
            self._tickers |= added
            self._subscription_changed.set()

    async def unsubscribe(self, tickers: Iterable[str]) -> None:
        removed = {normalize_ticker(t) for t in tickers} & self._tickers
        if removed:
            self._tickers -= removed
            self._subscription_changed.set()

    def wants(self, ticker: str) -> bool:
        """Whether a tick of `ticker` belongs in the stream under the current subscription."""
        return ticker in self._tickers or (self.empty_means_all and not self._tickers)

    # -- the stream ----------------------------------------------------------------------

    async def ticks(self) -> AsyncIterator[StreamItem]:
        if self._iterating:
            raise RuntimeError(f"{self.name} provider already has a consumer")
        if self._closed:
            return
        self._iterating = True
        self._queue = asyncio.Queue(self._queue_size)
        self._producer = asyncio.create_task(self._run(), name=f"{self.name}-provider")
        try:
            while True:
                item = await self._queue.get()
                if item is _END or self._closed:
                    return
                yield item  # type: ignore[misc]
        finally:
            self._iterating = False
            await self._stop_producer()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._stop_producer()
        if self._queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_END)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _stop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None or producer is asyncio.current_task():
            return
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await producer

    async def _run(self) -> None:
        backoff = Backoff(initial=1.0, maximum=60.0)
        try:
            while not self._closed:
                try:
                    await self._produce()
                    # A finite source ran out: the consumer must see the end even when the
                    # queue is full, so this put waits for room.
                    assert self._queue is not None
                    await self._queue.put(_END)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # The stream must outlive any one failure of its source.
                    logger.exception("%s provider failed", self.name)
                    delay = backoff.next()
                    await self._status(
                        ProviderState.RECONNECTING,
                        f"provider error ({exc}); retrying in {delay:.1f} s",
                    )
                    await self._sleep(delay)
        finally:
            if self._queue is not None:
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(_END)

    # -- for subclasses ------------------------------------------------------------------

    @abc.abstractmethod
    async def _produce(self) -> None:
        """Emit items until the source is exhausted (return) or fails (raise)."""

    async def _emit(self, item: StreamItem) -> None:
        assert self._queue is not None
        await self._queue.put(item)

    async def _status(self, state: ProviderState, reason: str) -> None:
        status = ProviderStatus(
            provider=self.name, state=state, reason=reason, timestamp=datetime.now(UTC)
        )
        self.last_status = status
        log = logger.info if state is ProviderState.CONNECTED else logger.warning
        log("%s provider %s: %s", self.name, state, reason)
        await self._emit(status)

    async def _wait_for_subscription_change(self, timeout: float | None = None) -> bool:
        """Wait until subscribe/unsubscribe changes the set; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._subscription_changed.wait()
        except TimeoutError:
            return False
        self._subscription_changed.clear()
        return True
