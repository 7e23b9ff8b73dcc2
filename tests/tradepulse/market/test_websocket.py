import asyncio

from tests.tradepulse.market.streams import next_status, next_tick
from tradepulse.market import Backoff, ProviderState, ReplayProvider, SimulatedProvider, Tick
from tradepulse.market.websocket import WebSocketProvider
from websocket_simulator.server import TickServer

CSV = (
    "ticker,timestamp,price\n"
    "AAPL,2025-01-20T14:30:00+00:00,100.0\n"
    "MSFT,2025-01-20T14:30:01+00:00,400.0\n"
    "AAPL,2025-01-20T14:30:02+00:00,102.5\n"
)


async def test_websocket_provider_receives_the_simulator_servers_ticks(tmp_path):
    path = tmp_path / "ticks.csv"
    path.write_text(CSV)
    server = TickServer(ReplayProvider(path, speed=0))
    port = await server.start("127.0.0.1", 0)
    provider = WebSocketProvider(f"ws://127.0.0.1:{port}")
    stream = provider.ticks()
    try:
        assert (await next_status(stream)).state == ProviderState.CONNECTED
        received = [await next_tick(stream) for _ in range(3)]
        assert received == [
            Tick("AAPL", 100.0, received[0].timestamp),
            Tick("MSFT", 400.0, received[1].timestamp),
            Tick("AAPL", 102.5, received[2].timestamp),
        ]
        assert received[2].timestamp.isoformat() == "2025-01-20T14:30:02+00:00"
    finally:
        await provider.close()
        await server.stop()


async def test_websocket_provider_filters_to_its_subscription():
    server = TickServer(SimulatedProvider(["AAPL", "MSFT"], rate=200, seed=1))
    port = await server.start("127.0.0.1", 0)
    provider = WebSocketProvider(f"ws://127.0.0.1:{port}", ["MSFT"])
    stream = provider.ticks()
    try:
        tickers = {(await next_tick(stream)).ticker for _ in range(10)}
        assert tickers == {"MSFT"}
    finally:
        await provider.close()
        await server.stop()


async def test_websocket_provider_reconnects_when_the_server_comes_back():
    server = TickServer(SimulatedProvider(["AAPL"], rate=200, seed=1))
    port = await server.start("127.0.0.1", 0)
    provider = WebSocketProvider(
        f"ws://127.0.0.1:{port}", backoff=Backoff(initial=0.05, maximum=0.2)
    )
    stream = provider.ticks()
    try:
        await next_tick(stream)
        await server.stop()
        await next_status(stream, ProviderState.RECONNECTING)
        server = TickServer(SimulatedProvider(["TSLA"], rate=200, seed=1))
        await server.start("127.0.0.1", port)
        await next_status(stream, ProviderState.CONNECTED)
        # Ticks still queued from the first server may come first.
        async with asyncio.timeout(5):
            while (await next_tick(stream)).ticker != "TSLA":
                pass
        assert provider.connections == 2
    finally:
        await provider.close()
        await server.stop()


async def test_malformed_feed_messages_are_skipped():
    from websockets.asyncio.server import serve

    async def handler(connection):
        await connection.send('{"ticker": "AAPL", "price": "oops"}')
        await connection.send(
            '[{"ticker": "AAPL", "price": 1.5, "timestamp": "2025-01-20T14:30:00Z"}]'
        )
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        provider = WebSocketProvider(f"ws://127.0.0.1:{port}")
        stream = provider.ticks()
        assert (await next_tick(stream)).price == 1.5
        assert provider.bad_messages == 1
        await provider.close()
