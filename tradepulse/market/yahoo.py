"""Live Yahoo Finance prices: the streamer WebSocket, with polling as a fallback."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from google.protobuf.message import DecodeError
from websockets.asyncio.client import ClientConnection
from yfinance.exceptions import YFRateLimitError
from yfinance.pricing_pb2 import PricingData

from .backoff import Backoff
from .base import StreamItem
from .streaming import StreamingProvider
from .ticks import ProviderState, Tick, TickFormatError, parse_timestamp

__all__ = ["YAHOO_STREAM_URL", "YahooProvider", "decode_pricing_message", "encode_pricing_message"]

logger = logging.getLogger(__name__)

YAHOO_STREAM_URL = "wss://streamer.finance.yahoo.com/?version=2"

Mode = Literal["auto", "stream", "poll"]


def decode_pricing_message(message: str | bytes) -> Tick | None:
    """Decode one streamer frame `{"type": "pricing", "message": "<base64 PricingData>"}`.

    Returns None for frames of other types. Raises ValueError for a malformed frame. The
    protobuf carries the price as float32, so it is rounded to 7 significant digits
    (189.1199951171875 becomes 189.12); `time` is epoch milliseconds (absent = now).
    """
    try:
        frame = json.loads(message)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise ValueError("frame is not a JSON object")
    if frame.get("type", "pricing") != "pricing":
        return None
    encoded = frame.get("message")
    if not isinstance(encoded, str):
        raise ValueError("frame has no base64 'message'")
    pricing = PricingData()
    try:
        pricing.ParseFromString(base64.b64decode(encoded, validate=True))
    except (binascii.Error, DecodeError) as exc:
        raise ValueError(f"undecodable PricingData: {exc}") from None
    if not pricing.id:
        raise ValueError("PricingData has no id")
    timestamp = (
        datetime.fromtimestamp(pricing.time / 1000, UTC) if pricing.time else datetime.now(UTC)
    )
    volume = float(pricing.last_size) if pricing.last_size > 0 else None
    try:
        return Tick(pricing.id, float(f"{pricing.price:.7g}"), timestamp, volume)
    except TickFormatError as exc:
        raise ValueError(str(exc)) from None


def encode_pricing_message(symbol: str, price: float, time_ms: int, **fields: Any) -> str:
    """The frame Yahoo's streamer sends for one price (used by stand-ins and tests)."""
    pricing = PricingData(id=symbol, price=price, time=time_ms, **fields)
    payload = base64.b64encode(pricing.SerializeToString()).decode("ascii")
    return json.dumps({"type": "pricing", "message": payload})


class YahooProvider(StreamingProvider):
    """Live prices from Yahoo Finance.

    Modes: `stream` uses the streamer WebSocket at `url` only; `poll` polls
    `yfinance.Ticker(symbol).history(period="1d", interval="1m")` only (prices up to a
    minute old); `auto` (default) streams and polls whenever the stream has delivered no
    tick for `fallback_after` seconds (outage, blocked WebSocket, or a closed market).

    Stream: the subscription is sent on every connection and again every
    `heartbeat_interval` seconds (as Yahoo's own client does); changes are sent as
    `{"subscribe": [...]}` / `{"unsubscribe": [...]}`. Reconnects use exponential backoff
    with jitter; `silence_timeout` seconds without data reconnects (watchdog).

    Polling: one request per symbol per `poll_interval` seconds, at least
    `min_request_interval` seconds apart; a `YFRateLimitError` waits for
    `rate_limit_backoff` (30 s doubling to 15 min by default) and is reported as `stale`.
    A fresh `Ticker` is built for every request because `Ticker` caches prices.
    `ticker_factory` replaces `yfinance.Ticker` (the network edge) in tests.
    """

    name = "yahoo"

    def __init__(
        self,
        tickers: Iterable[str] = (),
        *,
        url: str = YAHOO_STREAM_URL,
        mode: Mode = "auto",
        silence_timeout: float | None = 60.0,
        heartbeat_interval: float = 15.0,
        fallback_after: float = 30.0,
        poll_interval: float = 60.0,
        min_request_interval: float = 1.0,
        rate_limit_backoff: Backoff | None = None,
        ticker_factory: Callable[[str], Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(url, tickers, silence_timeout=silence_timeout, **options)
        if mode not in ("auto", "stream", "poll"):
            raise ValueError(f"mode must be auto, stream or poll, not {mode!r}")
        self.mode: Mode = mode
        self.heartbeat_interval = heartbeat_interval
        self.fallback_after = fallback_after
        self.poll_interval = poll_interval
        self.min_request_interval = min_request_interval
        self.rate_limit_backoff = rate_limit_backoff or Backoff(initial=30.0, maximum=900.0)
        self._ticker_factory = ticker_factory
        self._sent: set[str] = set()
        self._stream_data_at: float | None = None
        self._last_polled: dict[str, tuple[float, datetime]] = {}
        self.requests = 0

    # -- stream --------------------------------------------------------------------------

    def _decode(self, message: str | bytes) -> Iterable[StreamItem]:
        tick = decode_pricing_message(message)
        return () if tick is None else (tick,)

    def _on_data(self) -> None:
        self._stream_data_at = asyncio.get_running_loop().time()

    async def _on_connect(self, ws: ClientConnection) -> None:
        self._sent = set()
        await self._sync_subscription(ws, resend=True)

    async def _maintain(self, ws: ClientConnection) -> None:
        while True:
            changed = await self._wait_for_subscription_change(self.heartbeat_interval)
            await self._sync_subscription(ws, resend=not changed)

    async def _sync_subscription(self, ws: ClientConnection, *, resend: bool) -> None:
        wanted = set(self._tickers)
        removed = self._sent - wanted
        added = wanted if resend else wanted - self._sent
        if removed:
            await ws.send(json.dumps({"unsubscribe": sorted(removed)}))
        if added:
            await ws.send(json.dumps({"subscribe": sorted(added)}))
        self._sent = wanted

    # -- polling -------------------------------------------------------------------------

    async def _produce(self) -> None:
        if self.mode == "stream":
            await self._stream_forever()
        elif self.mode == "poll":
            await self._poll_forever()
        else:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._stream_forever())
                group.create_task(self._poll_forever())

    def _fetch_latest(self, symbol: str) -> tuple[float, datetime] | None:
        """Blocking: the last one-minute close of `symbol` and its bar time, if any."""
        if self._ticker_factory is None:
            import yfinance

            factory: Callable[[str], Any] = yfinance.Ticker
        else:
            factory = self._ticker_factory
        self.requests += 1
        history = factory(symbol).history(period="1d", interval="1m", raise_errors=True)
        if history is None or len(history) == 0 or "Close" not in history:
            return None
        closes = history["Close"].dropna()
        if len(closes) == 0:
            return None
        stamp = closes.index[-1]
        moment = stamp.to_pydatetime() if hasattr(stamp, "to_pydatetime") else stamp
        return float(closes.iloc[-1]), parse_timestamp(moment)

    async def _poll_forever(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        polling = False
        trouble = False
        errors = Backoff(initial=5.0, maximum=300.0)
        if self.mode == "poll":
            await self._status(
                ProviderState.CONNECTED,
                f"polling Yahoo Finance every {self.poll_interval:g} s (prices up to a minute old)",
            )
        while True:
            if self.mode == "auto":
                last_data = self._stream_data_at if self._stream_data_at is not None else started
                quiet = loop.time() - last_data
                if quiet < self.fallback_after:
                    polling = False
                    await asyncio.sleep(self.fallback_after - quiet)
                    continue
                if not polling:
                    polling = True
                    await self._status(
                        ProviderState.STALE,
                        f"no live stream for {self.fallback_after:g} s; polling every "
                        f"{self.poll_interval:g} s (prices delayed)",
                    )
            symbols = sorted(self._tickers)
            if not symbols:
                await asyncio.sleep(min(self.poll_interval, 1.0))
                continue
            try:
                for index, symbol in enumerate(symbols):
                    if index:
                        await self._sleep(self.min_request_interval)
                    latest = await asyncio.to_thread(self._fetch_latest, symbol)
                    if latest is None or self._last_polled.get(symbol) == latest:
                        continue
                    self._last_polled[symbol] = latest
                    if self.wants(symbol):
                        await self._emit(Tick(symbol, latest[0], latest[1]))
            except asyncio.CancelledError:
                raise
            except YFRateLimitError:
                delay = self.rate_limit_backoff.next()
                trouble = True
                await self._status(
                    ProviderState.STALE,
                    f"rate limited by Yahoo Finance; next poll in {delay:.0f} s",
                )
            except Exception as exc:
                logger.warning("yahoo polling failed: %s", exc, exc_info=True)
                delay = errors.next()
                trouble = True
                await self._status(
                    ProviderState.STALE, f"polling failed ({exc}); retrying in {delay:.0f} s"
                )
            else:
                delay = self.poll_interval
                self.rate_limit_backoff.reset()
                errors.reset()
                if trouble:
                    trouble = False
                    state = ProviderState.CONNECTED if self.mode == "poll" else ProviderState.STALE
                    await self._status(state, "polling Yahoo Finance again")
            await self._sleep(delay)
