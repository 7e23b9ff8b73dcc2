"""Spike detector throughput: monotonic deques against a brute-force window rescan.

    python bench/live_detector.py           # full size
    python bench/live_detector.py --quick   # smoke size

Both detectors take the same per-tick call, `update_us(price, t_us)`, over the same random
walk (with jumps, so alerts and window restarts happen). The rescan keeps the window in a
deque and scans it for its low and high on every tick, which is the obvious way to write the
rule. A third row feeds `Tick` objects through `AlertEngine.process` (datetime conversion,
per-ticker lookup, moving average), the path the live feed uses.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tradepulse.alerts import TOLERANCE, AlertEngine, SpikeDetector, to_micros  # noqa: E402
from tradepulse.alerts.timebase import from_micros  # noqa: E402
from tradepulse.market import Tick  # noqa: E402


class RescanDetector:
    """Same rule and signature as SpikeDetector, scanning the whole window per tick."""

    def __init__(self, threshold: float = 0.02, window: float = 60.0) -> None:
        self.threshold = threshold
        self.window_us = round(window * 1e6)
        self.ticks: deque[tuple[float, int]] = deque()
        self.last_t: int | None = None
        self.alerts = 0

    def update_us(self, price: float, t_us: int) -> tuple[str, float] | None:
        if not 0.0 < price < math.inf:
            return None
        if self.last_t is not None and t_us < self.last_t:
            return None
        self.last_t = t_us
        ticks = self.ticks
        cutoff = t_us - self.window_us
        while ticks and ticks[0][1] < cutoff:
            ticks.popleft()
        ticks.append((price, t_us))
        low = min(p for p, _ in ticks)
        high = max(p for p, _ in ticks)
        if price / low - 1 >= self.threshold - TOLERANCE:
            self.alerts += 1
            ticks.clear()
            ticks.append((price, t_us))
            return ("up", low)
        if 1 - price / high >= self.threshold - TOLERANCE:
            self.alerts += 1
            ticks.clear()
            ticks.append((price, t_us))
            return ("down", high)
        return None


def make_ticks(count: int, per_second: float, seed: int = 1) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    t = to_micros(datetime(2025, 1, 20, 14, 30, tzinfo=UTC))
    step = round(1e6 / per_second)
    price = 100.0
    ticks = []
    for _ in range(count):
        t += rng.randint(step // 2, step * 3 // 2)
        price *= math.exp(rng.gauss(0, 0.0005))
        if rng.random() < 1 / (180 * per_second):  # a jump every ~3 minutes
            price *= 1 + rng.choice((-1, 1)) * rng.uniform(0.025, 0.04)
        ticks.append((price, t))
    return ticks


def run(detector, ticks) -> tuple[float, int]:
    update = detector.update_us
    alerts = 0
    started = time.perf_counter()
    for price, t in ticks:
        if update(price, t) is not None:
            alerts += 1
    return time.perf_counter() - started, alerts


def run_engine(engine: AlertEngine, objects: list[Tick]) -> tuple[float, int]:
    process = engine.process
    alerts = 0
    started = time.perf_counter()
    for tick in objects:
        if process(tick) is not None:
            alerts += 1
    return time.perf_counter() - started, alerts


def best_of(repeats, fn, make_detector, ticks):
    # A fresh detector each time: a reused one would see every tick as out of order.
    return min(fn(make_detector(), ticks) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke size")
    args = parser.parse_args()
    count = 50_000 if args.quick else 1_000_000
    rescan_count = 5_000 if args.quick else 50_000
    repeats = 1 if args.quick else 3

    rows = []
    for per_second in (1, 10, 100):
        window_ticks = 60 * per_second
        ticks = make_ticks(count, per_second)
        seconds, alerts = best_of(repeats, run, lambda: SpikeDetector("AAPL"), ticks)
        rows.append(("SpikeDetector (monotonic deques)", window_ticks, count, seconds, alerts))
        subset = ticks[:rescan_count]
        seconds_r, alerts_r = best_of(repeats, run, RescanDetector, subset)
        ours_subset = run(SpikeDetector("AAPL"), subset)[1]
        assert ours_subset == alerts_r, "both detectors must raise the same alerts"
        rows.append(("brute-force rescan", window_ticks, rescan_count, seconds_r, alerts_r))
    objects = [Tick("AAPL", p, from_micros(t)) for p, t in make_ticks(count // 2, 10)]
    seconds, alerts = best_of(repeats, run_engine, AlertEngine, objects)
    rows.append(("AlertEngine.process(Tick) incl. 5-min average", 600, count // 2, seconds, alerts))

    print(
        f"Python {platform.python_version()} on {platform.machine()}, one core, best of {repeats}\n"
    )
    print("| Detector | ticks per 60 s window | ticks | time (s) | ticks/s | alerts |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, window_ticks, n, seconds, alerts in rows:
        print(
            f"| {name} | {window_ticks:,} | {n:,} | {seconds:.3f} | {n / seconds:,.0f} | {alerts} |"
        )


if __name__ == "__main__":
    main()
