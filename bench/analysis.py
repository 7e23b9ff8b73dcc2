"""Daily trade analysis: `tradepulse.analysis.analyse` against pandas on the same CSV.

Generates a one-day trade CSV (default 1,000,000 rows, in a temporary folder), then runs each
implementation in its own fresh interpreter, so peak memory (``ru_maxrss``) is that of one
implementation only. pandas computes the same figures with ``read_csv`` + ``groupby`` (in
floats, as it would be written in practice). Prints a Markdown table; ``--write`` also saves
it to bench/results/analysis.md.

    python bench/analysis.py            # 1,000,000 rows, 3 runs each
    python bench/analysis.py --quick    # 50,000 rows, 1 run each
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DAY = date(2025, 1, 20)
TICKERS = ["AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "BRK.B", "JPM", "V"] + [
    f"T{index:02d}" for index in range(10)
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A day's export: rows in timestamp order, prices with cents, some fractional quantities."""
    sys.path.insert(0, str(REPO_ROOT))
    from tradepulse.analysis import HEADER, format_row

    rng = random.Random(seed)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    step = 86_400_000_000 // max(rows, 1)
    base_price = {ticker: rng.randint(2_000, 90_000) for ticker in TICKERS}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for index in range(rows):
            ticker = TICKERS[rng.randrange(len(TICKERS))]
            cents = base_price[ticker] + rng.randint(-500, 500)
            quantity = rng.randint(1, 500) if rng.random() < 0.9 else rng.randint(1, 9999) / 100
            writer.writerow(
                format_row(
                    index + 1,
                    f"user{rng.randrange(200)}",
                    ticker,
                    "buy" if rng.random() < 0.5 else "sell",
                    Decimal(cents) / 100,
                    Decimal(str(quantity)),
                    start + timedelta(microseconds=index * step + rng.randrange(step)),
                )
            )


def worker_ours(path: str) -> dict:
    sys.path.insert(0, str(REPO_ROOT))
    from tradepulse.analysis import analyse

    rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with open(path, newline="") as handle:
        result = analyse(handle, DAY)
    seconds = time.perf_counter() - started
    summary = {
        ticker: [figures["trade_count"], float(figures["buy_quantity"]), float(figures["vwap"])]
        for ticker, figures in result["tickers"].items()
    }
    return {"seconds": seconds, "rss_after_imports": rss_after_imports, "summary": summary}


def worker_pandas(path: str) -> dict:
    import pandas as pd

    rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    frame = pd.read_csv(
        path,
        dtype={"trade_id": "int64", "user": "string", "ticker": "string", "side": "string"},
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601", utc=True)
    frame["notional"] = frame["price"] * frame["quantity"]
    is_buy = frame["side"] == "buy"
    frame["buy_quantity"] = frame["quantity"].where(is_buy, 0.0)
    frame["sell_quantity"] = frame["quantity"].where(~is_buy, 0.0)
    frame["buy_notional"] = frame["notional"].where(is_buy, 0.0)
    frame["sell_notional"] = frame["notional"].where(~is_buy, 0.0)
    frame = frame.sort_values(["timestamp", "trade_id"], kind="stable")
    grouped = frame.groupby("ticker", sort=True)
    table = grouped.agg(
        trade_count=("price", "size"),
        buy_quantity=("buy_quantity", "sum"),
        sell_quantity=("sell_quantity", "sum"),
        buy_notional=("buy_notional", "sum"),
        sell_notional=("sell_notional", "sum"),
        quantity=("quantity", "sum"),
        notional=("notional", "sum"),
        first_price=("price", "first"),
        last_price=("price", "last"),
        low_price=("price", "min"),
        high_price=("price", "max"),
        first_timestamp=("timestamp", "first"),
        last_timestamp=("timestamp", "last"),
    )
    table["net_quantity"] = table["buy_quantity"] - table["sell_quantity"]
    table["vwap"] = table["notional"] / table["quantity"]
    totals = table[["trade_count", "buy_quantity", "sell_quantity", "buy_notional"]].sum()
    seconds = time.perf_counter() - started
    assert int(totals["trade_count"]) == len(frame)
    summary = {
        ticker: [int(row.trade_count), float(row.buy_quantity), float(row.vwap)]
        for ticker, row in table.iterrows()
    }
    return {"seconds": seconds, "rss_after_imports": rss_after_imports, "summary": summary}


WORKERS = {"tradepulse (csv + Decimal)": "ours", "pandas read_csv + groupby": "pandas"}


def run_worker(kind: str, path: Path) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(path)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return json.loads(completed.stdout)


def agree(ours: dict, theirs: dict) -> bool:
    if ours.keys() != theirs.keys():
        return False
    for ticker, (count, buy_quantity, vwap) in ours.items():
        other_count, other_buy, other_vwap = theirs[ticker]
        if count != other_count or abs(buy_quantity - other_buy) > 1e-6 * max(1, buy_quantity):
            return False
        if abs(vwap - other_vwap) > 1e-6:
            return False
    return True


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per implementation (median)")
    parser.add_argument("--quick", action="store_true", help="50,000 rows, one run each")
    parser.add_argument("--write", action="store_true", help="save bench/results/analysis.md")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "CSV"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.worker:
        kind, path = options.worker
        figures = worker_ours(path) if kind == "ours" else worker_pandas(path)
        figures["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(figures))
        return 0

    rows, runs = (50_000, 1) if options.quick else (options.rows, options.runs)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trades.csv"
        started = time.perf_counter()
        generate(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        measured = {}
        for label, kind in WORKERS.items():
            results = [run_worker(kind, path) for _ in range(runs)]
            measured[label] = {
                "seconds": statistics.median(r["seconds"] for r in results),
                "peak_mb": max(r["peak_rss"] for r in results) / 1024,
                "base_mb": max(r["rss_after_imports"] for r in results) / 1024,
                "summary": results[0]["summary"],
            }

    ours, theirs = (measured[label] for label in WORKERS)
    lines = [
        f"Daily analysis of a {rows:,}-row trade CSV ({size_mb:.0f} MB), median of {runs} run(s), "
        "each in a fresh interpreter",
        "",
        "| implementation | time (s) | rows/s | peak RSS (MB) | RSS after imports (MB) | "
        "time vs pandas |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, figures in measured.items():
        lines.append(
            f"| {label} | {figures['seconds']:.2f} | {rows / figures['seconds']:,.0f} | "
            f"{figures['peak_mb']:.0f} | {figures['base_mb']:.0f} | "
            f"{figures['seconds'] / theirs['seconds']:.2f}x |"
        )
    lines += [
        "",
        "Results agree (trade counts, buy quantities, VWAP): "
        + ("yes" if agree(ours["summary"], theirs["summary"]) else "NO"),
    ]
    table = "\n".join(lines)
    print(table)

    if options.write:
        command = "python bench/analysis.py " + " ".join(sys.argv[1:])
        report = "\n".join(
            [
                "## Daily trade analysis (`bench/analysis.py`)",
                "",
                f"Machine: {machine()}; pandas {pandas_version()}.",
                "",
                f"Command: `.venv/bin/python {command.removeprefix('python ').strip()}` "
                "(with `PYTHONPYCACHEPREFIX` unset).",
                "",
                table,
                "",
                "Time excludes interpreter start and imports; peak RSS is the whole process. "
                "pandas sums in floats; the analysis keeps exact decimals.",
                "",
            ]
        )
        (REPO_ROOT / "bench" / "results" / "analysis.md").write_text(report)
    return 0


def pandas_version() -> str:
    try:
        from importlib.metadata import version

        return version("pandas")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
