"""`python -m tradepulse.alerts scan FILE.csv`: run the spike detector over recorded ticks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tradepulse.market.replay import TickFileError, read_tick_csv
from tradepulse.market.tickcolumns import read_tick_columns

from .batch import scan_columns
from .detector import DEFAULT_THRESHOLD, DEFAULT_WINDOW, AlertEngine

__all__ = ["main", "percent_arg", "seconds_arg"]


def percent_arg(text: str) -> float:
    """argparse type for a threshold in percent, 0 < x < 100."""
    value = float(text)
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError("threshold must be a percentage between 0 and 100")
    return value


def seconds_arg(text: str) -> float:
    """argparse type for a positive window in seconds."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("window must be a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tradepulse.alerts",
        description="Price spike alerts over recorded ticks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser(
        "scan",
        help="print the alerts a tick CSV (ticker,timestamp,price[,volume]) would raise",
    )
    scan.add_argument("file", help="CSV with a header: ticker,timestamp,price[,volume]")
    scan.add_argument(
        "--threshold",
        type=percent_arg,
        default=DEFAULT_THRESHOLD * 100,
        help="move that alerts, in percent (default: %(default)g)",
    )
    scan.add_argument(
        "--window",
        type=seconds_arg,
        default=DEFAULT_WINDOW,
        help="sliding window in seconds (default: %(default)g)",
    )
    return parser


def scan(path: str, threshold_pct: float, window: float) -> int:
    threshold = threshold_pct / 100
    columns = read_tick_columns(path)
    if columns is None:
        # A bad row, or a form only the row reader takes: it names the line.
        return _scan_rows(path, threshold, window)
    alerts = scan_columns(columns, threshold, window)
    write = sys.stdout.write
    for alert in alerts.alerts:
        write(f"{alert.timestamp.isoformat()}  {alert.message()}\n")
    sys.stdout.flush()
    _summary(len(columns), len(alerts.alerts), alerts.dropped_out_of_order)
    return 0


def _scan_rows(path: str, threshold: float, window: float) -> int:
    engine = AlertEngine(threshold, window, average_window=None)
    ticks = alerts = 0
    try:
        for tick in read_tick_csv(path):
            ticks += 1
            alert = engine.process(tick)
            if alert is not None:
                alerts += 1
                print(f"{alert.timestamp.isoformat()}  {alert.message()}", flush=False)
    except TickFileError as exc:
        sys.stdout.flush()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    _summary(ticks, alerts, engine.dropped_out_of_order)
    return 0


def _summary(ticks: int, alerts: int, late: int) -> None:
    print(
        f"{ticks} ticks, {alerts} alerts"
        + (f", {late} out-of-order ticks skipped" if late else ""),
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return scan(args.file, args.threshold, args.window)
