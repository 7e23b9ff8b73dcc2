"""Command line: ``python -m tradepulse.backtest``.

Exit status 0 on success, 2 on bad arguments or bad data (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import barcolumns
from .errors import BacktestError
from .simulation import run_strategy
from .stats import STAT_NAMES, SWEEP_METRICS, json_safe, stats_json
from .strategies import MovingAverageCrossover

if TYPE_CHECKING:
    import pandas as pd


def _window_range(text: str) -> range:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected START:STOP[:STEP], got {text!r}")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers in {text!r}") from None
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if start < 1 or step < 1 or stop < start:
        raise argparse.ArgumentTypeError(f"expected 1 <= START <= STOP and STEP >= 1 in {text!r}")
    return range(start, stop + 1, step)  # STOP is included, as people write 5:50:5


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tradepulse.backtest",
        description="Backtest a moving-average crossover on OHLCV bars, or sweep its windows.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="bars from a CSV in Yahoo's export format")
    source.add_argument("--synthetic", metavar="N", type=_positive_int, help="N generated bars")
    source.add_argument("--ticker", metavar="SYMBOL", help="download bars with yfinance")
    parser.add_argument("--seed", type=int, default=0, help="seed of --synthetic (default 0)")
    parser.add_argument(
        "--freq", default="1D", help="bar spacing of --synthetic, e.g. 1D, 1h, 1min (default 1D)"
    )
    parser.add_argument("--period", default="1y", help="history length for --ticker (default 1y)")
    parser.add_argument("--interval", default="1d", help="bar size for --ticker (default 1d)")
    parser.add_argument("--fast", type=_positive_int, default=10, help="fast window (default 10)")
    parser.add_argument("--slow", type=_positive_int, default=20, help="slow window (default 20)")
    parser.add_argument("--kind", choices=("sma", "ema"), default="sma", help="average (sma)")
    parser.add_argument("--allow-short", action="store_true", help="go short on death crosses")
    parser.add_argument("--cash", type=_fraction, default=10_000.0, help="initial cash (10000)")
    parser.add_argument(
        "--commission", type=_fraction, default=0.0, help="fraction of traded value (default 0)"
    )
    parser.add_argument("--plot", metavar="OUT", help="write a picture: OUT.png or OUT.html")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sweep",
        nargs=2,
        metavar=("FAST", "SLOW"),
        type=_window_range,
        help="grid of windows as START:STOP:STEP (STOP included), e.g. 5:50:5 10:100:10",
    )
    parser.add_argument(
        "--metric",
        default="sharpe_ratio",
        choices=SWEEP_METRICS,
        metavar="NAME",
        help="statistic that ranks a sweep (default sharpe_ratio)",
    )
    parser.add_argument("--top", type=_positive_int, default=20, help="sweep rows to print (20)")
    parser.add_argument(
        "--workers", type=_positive_int, default=None, help="processes for a sweep (all CPUs)"
    )
    return parser


def _load(args: argparse.Namespace, data: bytes | None = None) -> pd.DataFrame:
    """The bars of ``args``; ``data``: the ``--csv`` file's bytes when they have been read."""
    from .data import download, load_csv, read_csv_text, synthetic_bars

    if args.csv:
        return load_csv(args.csv) if data is None else read_csv_text(data, Path(args.csv))
    if args.synthetic:
        return synthetic_bars(args.synthetic, seed=args.seed, freq=args.freq)
    return download(args.ticker, period=args.period, interval=args.interval)


def _display(name: str, value: Any) -> str:
    if value is None or value != value:  # NaN and NaT are not equal to themselves
        return "n/a"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, float):
        return f"{value:,.2f}" if name.startswith(("equity", "commissions")) else f"{value:.4f}"
    return str(value)


def _duration(value: timedelta) -> str:
    """As pandas writes a Timedelta: ``3 days 04:05:06``, with microseconds when there are any."""
    minutes, seconds = divmod(value.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{value.days} days {hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + f".{value.microseconds:06d}" if value.microseconds else text


def _print_stats(stats: dict[str, Any], out) -> None:
    width = max(len(k) for k in stats)
    for key in STAT_NAMES:
        print(f"{key:<{width}}  {_display(key, stats[key]):>28}", file=out)


def _print_sweep(table: pd.DataFrame, metric: str, top: int, out) -> None:
    columns = ["fast", "slow", metric]
    for extra in ("return_pct", "max_drawdown_pct", "trades", "win_rate_pct"):
        if extra not in columns:
            columns.append(extra)
    shown = table.head(top)[columns]
    header = "  ".join(f"{c:>16}" for c in columns)
    print(header, file=out)
    for row in shown.itertuples(index=False):
        print(
            "  ".join(f"{_display(c, v):>16}" for c, v in zip(columns, row, strict=True)), file=out
        )
    if len(table) > top:
        print(f"... {len(table) - top} more of {len(table)} (use --top)", file=out)


def _strategy(args: argparse.Namespace) -> MovingAverageCrossover:
    return MovingAverageCrossover(args.fast, args.slow, args.kind, args.allow_short)


def _print_result(
    stats: dict[str, Any], strategy: MovingAverageCrossover, bars: int, as_json: bool, out
) -> None:
    if as_json:
        json.dump(stats_json(stats), out)
        out.write("\n")
    else:
        print(f"{strategy!r} on {bars} bars", file=out)
        _print_stats(stats, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        data = None
        if args.csv and not (args.sweep or args.plot):
            # Figures only: the file's checked columns are enough, and pandas is not loaded.
            # Bytes the fast reader cannot vouch for are read as text, which names their fault.
            data = barcolumns.read_file(args.csv)
            columns = barcolumns.parse(data)
            if columns is not None:
                strategy = _strategy(args)
                values = columns.values
                stats, _ = run_strategy(
                    columns.dates,
                    values["Open"],
                    values["Close"],
                    strategy,
                    args.cash,
                    args.commission,
                )
                _print_result(stats, strategy, len(columns), args.json, out)
                return 0
        bars = _load(args, data)
        if args.sweep:
            from .grid import sweep

            fast_range, slow_range = args.sweep
            bar = None
            total = sum(1 for f in fast_range for s in slow_range if f < s)
            if total * len(bars) >= 200_000 and not args.json:
                from tqdm import tqdm

                bar = tqdm(total=total, desc="sweep", unit="run", file=sys.stderr, leave=False)

            def progress(done: int, total: int) -> None:
                if bar is not None:
                    bar.update(done - bar.n)

            table = sweep(
                bars,
                fast=fast_range,
                slow=slow_range,
                metric=args.metric,
                kind=args.kind,
                allow_short=args.allow_short,
                cash=args.cash,
                commission=args.commission,
                workers=args.workers,
                progress=progress,
            )
            if bar is not None:
                bar.close()
            if args.plot:
                from .plots import plot_sweep

                plot_sweep(table, args.plot, args.metric)
            if args.json:
                rows = [
                    {k: json_safe(v) for k, v in row.items()}
                    for row in table.to_dict(orient="records")
                ]
                json.dump({"metric": args.metric, "results": rows}, out)
                out.write("\n")
            else:
                _print_sweep(table, args.metric, args.top, out)
            return 0

        from .engine import backtest

        strategy = _strategy(args)
        result = backtest(bars, strategy, cash=args.cash, commission=args.commission)
        if args.plot:
            from .plots import plot_backtest

            plot_backtest(result, args.plot)
        _print_result(result.stats, strategy, len(bars), args.json, out)
        return 0
    except BacktestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
