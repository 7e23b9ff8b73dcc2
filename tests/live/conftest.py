"""Fixtures for the live app: a scripted provider, a feed wired into the process runtime,
WebSocket communicators, and the Redis marker's skip logic."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from tradepulse.market import MarketDataProvider, ProviderState, Tick

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")
T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


class ScriptedProvider(MarketDataProvider):
    """A provider whose ticks the test pushes; like a real one it emits only wanted tickers."""

    name = "scripted"

    def __init__(self, tickers: Iterable[str] = (), **options) -> None:
        super().__init__(tickers, **options)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.subscribed = asyncio.Event()

    async def subscribe(self, tickers):
        await super().subscribe(tickers)
        self.subscribed.set()

    async def push(self, ticker: str, price: float, at: datetime | None = None) -> None:
        await self.inbox.put(Tick(ticker, price, at or datetime.now(UTC)))

    async def push_status(self, state: ProviderState, reason: str) -> None:
        await self.inbox.put((state, reason))

    async def _produce(self) -> None:
        await self._status(ProviderState.CONNECTED, "scripted")
        while True:
            item = await self.inbox.get()
            if isinstance(item, tuple):
                await self._status(*item)
            elif self.wants(item.ticker):
                await self._emit(item)


def ticks_csv(path, rows) -> str:
    lines = ["ticker,timestamp,price"]
    lines += [f"{t},{ts.isoformat()},{p}" for t, ts, p in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def spike_rows(ticker="AAPL", start=T0, n=30, spike_at=20, base=100.0, jump=0.03):
    """Flat-ish prices one second apart with a rise of ``jump`` at ``spike_at``."""
    rows = []
    for i in range(n):
        price = base * (1 + 0.001 * (i % 3))
        if i >= spike_at:
            price = base * (1 + jump)
        rows.append((ticker, start + timedelta(seconds=i), round(price, 4)))
    return rows


@pytest.fixture(autouse=True)
def _fresh_layers():
    """Each test gets its own in-memory channel layer and no leftover live runtime."""
    from channels.layers import channel_layers

    from live import runtime

    channel_layers.backends.clear()
    runtime._runtime = None
    yield
    channel_layers.backends.clear()
    runtime._runtime = None


@pytest.fixture
def scripted_feed(monkeypatch, settings):
    """Make the in-process runtime run its feed over a ScriptedProvider; returns a holder
    whose ``provider`` and ``feed`` are set once the first socket starts the runtime."""
    from live import runtime
    from live.feed import FeedConfig, FeedRunner

    settings.FEED_IN_PROCESS = True

    class Holder:
        provider: ScriptedProvider | None = None
        feed: FeedRunner | None = None
        config = FeedConfig(publish_interval=0.05, rules_refresh=0.2)

    holder = Holder()

    def factory(layer):
        holder.provider = ScriptedProvider()
        holder.feed = FeedRunner(holder.provider, layer, config=holder.config)
        return holder.feed

    monkeypatch.setattr(runtime, "feed_factory", factory)
    return holder


@pytest.fixture
def session_cookie(transactional_db, user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


@pytest.fixture
def token(transactional_db, api) -> str:
    return api.token


@pytest.fixture
async def connect(transactional_db):
    """``await connect("AAPL", headers=[...])`` -> a connected WebsocketCommunicator; all are
    disconnected and the live runtime stopped at the end of the test."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from live import runtime

    opened = []

    async def open_socket(ticker: str, headers=None, path=None, scheme="ws"):
        headers = list(headers or [ORIGIN])
        if not any(name == b"host" for name, _ in headers):
            headers.append(HOST)  # as every browser and client library sends
        communicator = WebsocketCommunicator(
            application, path or f"/ws/stocks/{ticker}/", headers=headers
        )
        communicator.scope["scheme"] = scheme  # read when the application starts
        connected, _ = await communicator.connect(timeout=5)
        opened.append(communicator)
        communicator.connected = connected
        return communicator

    yield open_socket
    for communicator in opened:
        with contextlib.suppress(Exception):
            await communicator.disconnect(timeout=2)
    await runtime.shutdown()


async def receive_until(communicator, predicate, timeout: float = 5.0) -> list[dict]:
    """Messages received until (and including) the first one matching ``predicate``."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            message = await communicator.receive_json_from(timeout=timeout)
            seen.append(message)
            if predicate(message):
                return seen
