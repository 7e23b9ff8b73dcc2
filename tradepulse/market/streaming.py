"""A reconnecting WebSocket loop shared by the streaming providers."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.uri import parse_uri

from .backoff import Backoff
from .base import MarketDataProvider, StreamItem
from .ticks import ProviderState, ProviderStatus

__all__ = ["StreamingProvider"]

logger = logging.getLogger(__name__)


class _Silent(Exception):
    """The connection delivered nothing for longer than the silence timeout."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return (
            "connection lost"
            if exc.rcvd is None
            else f"server closed the connection ({exc.rcvd.code})"
        )
    if isinstance(exc, TimeoutError):
        return "connection attempt timed out"
    if isinstance(exc, OSError):
        return f"cannot connect ({exc.strerror or exc})"
    return f"{type(exc).__name__}: {exc}"


class StreamingProvider(MarketDataProvider):
    """Base for providers fed by a WebSocket; owns the connection loop.

    Contract: connects to `url`; on every (re)connection reports `connected` and calls
    `_on_connect()` (e.g. to send the subscription); decodes each message with `_decode()`;
    after any failure reports `reconnecting` and retries after an exponential backoff with
    jitter (reset once data flows again). With `silence_timeout` set, a connection that
    delivers nothing for that many seconds while tickers are wanted is reported `stale`,
    dropped and replaced. Messages that cannot be decoded are logged, counted in
    `bad_messages` and skipped.
    """

    def __init__(
        self,
        url: str,
        tickers: Iterable[str] = (),
        *,
        silence_timeout: float | None = 30.0,
        open_timeout: float = 10.0,
        backoff: Backoff | None = None,
        **options: Any,
    ) -> None:
        super().__init__(tickers, **options)
        try:
            parse_uri(url)
        except InvalidURI as exc:
            raise ValueError(f"invalid WebSocket URL {url!r}: {exc}") from None
        self.url = url
        self.silence_timeout = silence_timeout
        self.open_timeout = open_timeout
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0)
        self.connections = 0
        self.bad_messages = 0

    # -- hooks ---------------------------------------------------------------------------

    async def _on_connect(self, ws: ClientConnection) -> None:
        """Called on each new connection before reading (e.g. to send subscriptions)."""

    async def _maintain(self, ws: ClientConnection) -> None:
        """Runs beside the reader for the life of a connection (subscription changes)."""
        await asyncio.Event().wait()

    @abc.abstractmethod
    def _decode(self, message: str | bytes) -> Iterable[StreamItem]:
        """Items carried by one message; raise ValueError for a malformed one."""

    def _on_data(self) -> None:
        """Called whenever a message carried at least one tick."""

    # -- the loop ------------------------------------------------------------------------

    def _expects_data(self) -> bool:
        return bool(self._tickers) or self.empty_means_all

    async def _produce(self) -> None:
        await self._stream_forever()

    async def _stream_forever(self) -> None:
        while True:
            try:
                async with connect(
                    self.url,
                    open_timeout=self.open_timeout,
                    # Yahoo's streamer and our simulator both answer pings; a dead TCP path
                    # is noticed within ping_interval + ping_timeout.
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                    max_size=2**22,
                ) as ws:
                    self.connections += 1
                    await self._status(ProviderState.CONNECTED, f"connected to {self.url}")
                    await self._on_connect(ws)
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except _Silent as exc:
                reason = str(exc)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                reason = _describe(exc)
            except Exception as exc:
                logger.exception("%s stream failed", self.name)
                reason = _describe(exc)
            else:
                reason = "server closed the connection"
            delay = self.backoff.next()
            await self._status(
                ProviderState.RECONNECTING, f"{reason}; reconnecting in {delay:.1f} s"
            )
            await self._sleep(delay)

    async def _read(self, ws: ClientConnection) -> None:
        maintainer = asyncio.create_task(self._maintain_quietly(ws))
        try:
            while True:
                try:
                    async with asyncio.timeout(self.silence_timeout):
                        message = await ws.recv()
                except TimeoutError:
                    if not self._expects_data():
                        continue
                    reason = f"no data for {self.silence_timeout:g} s"
                    await self._status(ProviderState.STALE, reason)
                    raise _Silent(reason) from None
                try:
                    items = list(self._decode(message))
                except ValueError as exc:
                    self.bad_messages += 1
                    logger.warning(
                        "%s: skipped a bad message (%s): %.200r", self.name, exc, message
                    )
                    continue
                got_tick = False
                for item in items:
                    if isinstance(item, ProviderStatus):
                        await self._emit(item)
                    elif self.wants(item.ticker):
                        got_tick = True
                        await self._emit(item)
                if got_tick:
                    self.backoff.reset()
                    self._on_data()
        finally:
            maintainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintainer

    async def _maintain_quietly(self, ws: ClientConnection) -> None:
        try:
            await self._maintain(ws)
        except ConnectionClosed:
            pass  # the reader sees the same close and reconnects
        except Exception:
            logger.exception("%s: subscription upkeep failed; dropping the connection", self.name)
            await ws.close(code=1011)
