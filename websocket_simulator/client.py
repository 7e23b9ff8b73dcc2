"""Listen to a JSON tick feed and print price spike alerts.

    python websocket_simulator/client.py --url ws://localhost:8001 --threshold 2 --window 60

Reconnects with backoff when the server goes away; Ctrl-C exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable for `tradepulse`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tradepulse.alerts import AlertEngine
from tradepulse.alerts.cli import percent_arg, seconds_arg
from tradepulse.market import Backoff, ProviderStatus, Tick
from tradepulse.market.websocket import WebSocketProvider

__all__ = ["listen", "main"]


async def listen(
    url: str,
    threshold_pct: float,
    window: float,
    *,
    verbose: bool = False,
    tickers: Sequence[str] = (),
) -> None:
    """Print an alert line per alert (and each price with `verbose`) until cancelled."""
    engine = AlertEngine(threshold_pct / 100, window, average_window=None)
    provider = WebSocketProvider(
        url, tickers, backoff=Backoff(initial=0.5, maximum=10.0), silence_timeout=None
    )
    try:
        async for item in provider.ticks():
            if isinstance(item, ProviderStatus):
                print(f"[{item.state}] {item.reason}", file=sys.stderr, flush=True)
                continue
            assert isinstance(item, Tick)
            if verbose:
                print(f"{item.timestamp:%H:%M:%S} {item.ticker} {item.price:.2f}", flush=True)
            alert = engine.process(item)
            if alert is not None:
                print(alert.message(), flush=True)
    finally:
        await provider.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Print price spike alerts from a tick feed.")
    parser.add_argument("--url", default="ws://localhost:8001", help="feed (default: %(default)s)")
    parser.add_argument(
        "--threshold", type=percent_arg, default=2.0, help="alert move in percent (default: 2)"
    )
    parser.add_argument(
        "--window", type=seconds_arg, default=60.0, help="window in seconds (default: 60)"
    )
    parser.add_argument("--tickers", nargs="+", default=(), help="only these tickers")
    parser.add_argument("--verbose", action="store_true", help="print every price too")
    return parser


async def _run_until_signal(args: argparse.Namespace) -> None:
    task = asyncio.create_task(
        listen(args.url, args.threshold, args.window, verbose=args.verbose, tickers=args.tickers)
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_run_until_signal(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
