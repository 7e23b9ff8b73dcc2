"""The engine's file readers, as whole processes beside their peers, interleaved in one run.

    .venv/bin/python bench/readers.py            # 1,000,000 bars and 1,000,000 ticks, 3 rounds
    .venv/bin/python bench/readers.py --quick    # 20,000 of each, 1 round

* ``python -m tradepulse.backtest --csv BARS.csv`` (SMA 10/20 crossover) beside a script that
  reads the same file with ``pandas.read_csv`` and runs the same strategy in backtesting.py
  (``bench/readers_peers.py backtesting``). Target: at least 20x faster.
* ``python -m tradepulse.alerts scan TICKS.csv`` beside a plain script reading the same file
  with the csv module through monotonic deques (``bench/readers_peers.py scan``). Targets: at
  least 2x faster, and at least 1,000,000 ticks/s.

Each round runs ours, then the peer, so both see the machine as it is at that moment. The
table gives the best wall time of each, the CPU time (user + system) of that process, and the
load average before and after the run: the machine is shared, and the load moves wall times.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_bars(path: Path, count: int) -> None:
    from tradepulse.backtest import synthetic_bars

    bars = synthetic_bars(count, seed=1, freq="1min")
    bars.to_csv(path, float_format="%.4f")  # Yahoo's exports carry a few decimals


def write_ticks(path: Path, count: int, tickers: int = 5) -> None:
    """A recorded feed: ``tickers`` random walks with jumps, ~100 ticks/s in all."""
    import numpy as np

    rng = np.random.default_rng(1)
    t = 1_737_383_400_000_000 + np.cumsum(rng.integers(5_000, 15_000, count))
    code = np.arange(count) % tickers
    step = rng.normal(0, 0.0005, count)
    jumps = rng.random(count) < 1 / 3000
    step[jumps] += rng.choice([-1, 1], jumps.sum()) * rng.uniform(0.025, 0.04, jumps.sum())
    price = np.empty(count)
    for c in range(tickers):
        rows = code == c
        price[rows] = 100 * np.exp(np.cumsum(step[rows]))
    names = np.array(["AAPL", "MSFT", "TSLA", "NVDA", "AMZN", "GOOG", "META"])[code]
    stamps = (t.astype("datetime64[us]")).astype(str)
    with open(path, "w") as out:
        out.write("ticker,timestamp,price\n")
        for chunk in range(0, count, 100_000):
            sl = slice(chunk, chunk + 100_000)
            out.writelines(
                f"{n},{s}Z,{p:.4f}\n"
                for n, s, p in zip(names[sl], stamps[sl], price[sl].tolist(), strict=True)
            )


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", choices=("backtest", "scan"), default=None)
    args = parser.parse_args()
    bars = 20_000 if args.quick else 1_000_000
    ticks = 20_000 if args.quick else 1_000_000
    rounds = args.rounds or (1 if args.quick else 3)
    python = sys.executable
    peers = str(ROOT / "bench" / "readers_peers.py")
    env_note = f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"

    with tempfile.TemporaryDirectory() as tmp:
        bars_csv = Path(tmp) / "bars.csv"
        ticks_csv = Path(tmp) / "ticks.csv"
        cases = []
        if args.only in (None, "backtest"):
            write_bars(bars_csv, bars)
            cases.append(
                (
                    f"backtest --csv, {bars:,} bars",
                    bars,
                    [python, "-m", "tradepulse.backtest", "--csv", str(bars_csv)],
                    "pandas.read_csv + backtesting.py",
                    [python, peers, "backtesting", str(bars_csv)],
                )
            )
        if args.only in (None, "scan"):
            write_ticks(ticks_csv, ticks)
            cases.append(
                (
                    f"alerts scan, {ticks:,} ticks",
                    ticks,
                    [python, "-m", "tradepulse.alerts", "scan", str(ticks_csv)],
                    "csv module + monotonic deques",
                    [python, peers, "scan", str(ticks_csv)],
                )
            )
        results = []
        for label, count, ours, peer_name, peer in cases:
            best_ours = best_peer = (math.inf, math.inf)
            for _ in range(rounds):
                best_ours = min(best_ours, timed(ours))
                best_peer = min(best_peer, timed(peer))
                print(f"{label}: ours {best_ours}, peer {best_peer}", file=sys.stderr)
            results.append((label, count, best_ours, peer_name, best_peer))
    env_note += f"; after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"

    print(
        f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
        f"best of {rounds} interleaved rounds; {env_note}\n"
    )
    print(
        "| case | tradepulse wall / CPU | peer | peer wall / CPU | ratio wall / CPU "
        "| tradepulse rows/s (wall / CPU) |"
    )
    print("|---|---|---|---|---|---|")
    for label, count, (ow, oc), peer_name, (pw, pc) in results:
        print(
            f"| {label} | {ow:.2f} s / {oc:.2f} s | {peer_name} | {pw:.2f} s / {pc:.2f} s "
            f"| {pw / ow:.1f}x / {pc / oc:.1f}x | {count / ow:,.0f} / {count / oc:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
