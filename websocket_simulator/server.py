"""Serve JSON price ticks over WebSocket to every connected client.

    python websocket_simulator/server.py --port 8001 --tickers AAPL MSFT --rate 2 --seed 7
    python websocket_simulator/server.py --replay ticks.csv --speed 10

Each message is one tick: {"ticker": "AAPL", "price": 189.12, "timestamp": "...+00:00"}.
The feed (simulated prices or a replayed CSV) starts when the first client connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `tradepulse`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve

from tradepulse.market import MarketDataProvider, Tick, TickFileError, create_provider

__all__ = ["TickServer", "build_provider", "main"]

logger = logging.getLogger("websocket_simulator.server")

DEFAULT_TICKERS = ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"]


class TickServer:
    """Broadcasts every tick of `provider` to all connected clients.

    The provider is started by the first client connection and runs until `stop()`; ticks
    produced while nobody is connected are discarded. Provider status events are logged.
    """

    def __init__(self, provider: MarketDataProvider) -> None:
        self.provider = provider
        self.server: Server | None = None
        self.sent = 0
        self._feed: asyncio.Task[None] | None = None
        self.feed_finished = asyncio.Event()

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (port 0 picks one); returns the bound port."""
        self.server = await serve(self._handle, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed
        await self.provider.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, connection: ServerConnection) -> None:
        logger.info("client connected from %s", connection.remote_address)
        if self._feed is None:
            self._feed = asyncio.create_task(self._pump())
        # Clients only listen; anything they send is ignored.
        with contextlib.suppress(Exception):
            async for _ in connection:
                pass
        logger.info("client %s disconnected", connection.remote_address)

    async def _pump(self) -> None:
        assert self.server is not None
        try:
            async for item in self.provider.ticks():
                if isinstance(item, Tick):
                    broadcast(self.server.connections, item.to_json())
                    self.sent += 1
                else:
                    logger.info("feed %s: %s", item.state, item.reason)
            logger.info("feed finished after %d ticks", self.sent)
        finally:
            self.feed_finished.set()


def build_provider(args: argparse.Namespace) -> MarketDataProvider:
    if args.replay:
        return create_provider(
            "replay", path=args.replay, tickers=args.tickers or (), speed=args.speed, loop=args.loop
        )
    return create_provider(
        "simulated",
        tickers=args.tickers or DEFAULT_TICKERS,
        rate=args.rate,
        seed=args.seed,
        jump_interval=args.jump_interval,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="WebSocket price feed (JSON ticks).")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8001, help="port (default: %(default)s)")
    parser.add_argument(
        "--tickers",
        nargs="+",
        metavar="TICKER",
        help=f"tickers to simulate (default: {' '.join(DEFAULT_TICKERS)}); "
        "with --replay, only these tickers of the file",
    )
    parser.add_argument(
        "--rate", type=float, default=1.0, help="ticks per second per ticker (default: 1)"
    )
    parser.add_argument("--seed", type=int, help="seed for a reproducible price sequence")
    parser.add_argument(
        "--jump-interval",
        type=float,
        default=180.0,
        help="mean seconds between price jumps per ticker (default: 180; 0 = none)",
    )
    parser.add_argument("--replay", metavar="FILE.csv", help="replay a tick CSV instead")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="replay speed as a multiple of recorded pace; 0 = as fast as possible",
    )
    parser.add_argument("--loop", action="store_true", help="restart the replay at its end")
    return parser


async def serve_until_stopped(server: TickServer, host: str, port: int) -> None:
    bound = await server.start(host, port)
    print(f"serving ticks on ws://{host}:{bound}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        provider = build_provider(args)
    except (TickFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve_until_stopped(TickServer(provider), args.host, args.port))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port} ({exc.strerror})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
