"""Backtest engine speed beside backtesting.py and vectorbt, in the same run.

Cases: one backtest of 1,000,000 bars, and a 75-pair sweep (fast 5..50 step 5, slow 10..100
step 10, fast < slow) on 2,000 and on 1,000,000 bars. Strategy: SMA crossover, long-only,
commission 0.2 %, fills at the next bar's open, whole units with all equity.

    .venv/bin/python bench/backtest.py            # full sizes (several minutes)
    .venv/bin/python bench/backtest.py --quick    # small smoke sizes

backtesting.py runs the single 1,000,000-bar backtest in full, but its 75-run sweep of a million
bars would take many minutes: that row is timed on 100,000 bars and scaled linearly by the bar
count, and says so (its cost per bar is constant, slightly falling with size). vectorbt gets a naive (timezone-free) index, with which it is much faster
than with the UTC index our bars carry; its first call includes Numba compilation and is shown
apart from the warm timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bars cost time

import backtesting  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tradepulse.backtest import MovingAverageCrossover, backtest, sweep, synthetic_bars  # noqa: E402

FAST = list(range(5, 51, 5))
SLOW = list(range(10, 101, 10))
PAIRS = [(f, s) for f in FAST for s in SLOW if f < s]
COMMISSION = 0.002
SINGLE = (10, 20)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --- tradepulse -------------------------------------------------------------------------------


def ours_single(bars):
    return backtest(bars, MovingAverageCrossover(*SINGLE), commission=COMMISSION)


def ours_sweep(bars):
    return sweep(bars, fast=FAST, slow=SLOW, commission=COMMISSION)


# --- backtesting.py ---------------------------------------------------------------------------


def _sma(values, n):
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCross(backtesting.Strategy):
    """The same strategy for backtesting.py (module level, so its optimizer can pickle it)."""

    fast = 10
    slow = 20

    def init(self):
        self.f = self.I(_sma, self.data.Close, self.fast)
        self.s = self.I(_sma, self.data.Close, self.slow)

    def next(self):
        f, s = self.f, self.s
        if f[-2] < s[-2] and f[-1] > s[-1] and not self.position:
            self.buy()
        elif f[-2] > s[-2] and f[-1] < s[-1] and self.position:
            self.position.close()


def bt_single(bars):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtesting.Backtest(bars, SmaCross, commission=COMMISSION)
        return bt.run(fast=SINGLE[0], slow=SINGLE[1])


def bt_sweep(bars):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtesting.Backtest(bars, SmaCross, commission=COMMISSION)
        return bt.optimize(
            fast=FAST, slow=SLOW, constraint=lambda p: p.fast < p.slow, maximize="Sharpe Ratio"
        )


# --- vectorbt ---------------------------------------------------------------------------------


def vbt_run(bars, pairs):
    import vectorbt as vbt

    close = bars["Close"]
    fast = vbt.MA.run(close, [p[0] for p in pairs], short_name="fast")
    slow = vbt.MA.run(close, [p[1] for p in pairs], short_name="slow")
    # A cross seen at a bar's close is traded at the next bar's open.
    entries = fast.ma_crossed_above(slow).shift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=bars["Open"],
        size=np.inf,
        size_granularity=1,
        fees=COMMISSION,
        init_cash=10_000,
        freq="1min",
    )
    return pf.sharpe_ratio()


def naive(bars):
    out = bars.copy()
    out.index = out.index.tz_localize(None)
    return out


def fmt(seconds: float | None, note: str = "") -> str:
    if seconds is None:
        return "n/a"
    text = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return text + (f" ({note})" if note else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--skip-vectorbt", action="store_true")
    args = parser.parse_args()

    big = 20_000 if args.quick else 1_000_000
    small = 2_000
    bt_big = 5_000 if args.quick else 1_000_000  # backtesting.py's single run: measured whole
    bt_sweep_big = 2_000 if args.quick else 100_000  # its 75-run sweep: this many bars, scaled
    repeat = 2 if args.quick else 5

    big_bars = synthetic_bars(big, seed=1, freq="1min")
    small_bars = synthetic_bars(small, seed=1, freq="1min")
    rows = []

    # vectorbt's first call compiles its Numba kernels; time it apart on a small input.
    vbt_first = None
    if not args.skip_vectorbt:
        start = time.perf_counter()
        vbt_run(naive(small_bars), [SINGLE])
        vbt_first = time.perf_counter() - start

    # Warm our own imports and caches the same way.
    ours_single(small_bars)

    cases = [
        (f"1 backtest, {big:,} bars", big_bars, "single"),
        (f"sweep of {len(PAIRS)} pairs, {small:,} bars", small_bars, "sweep"),
        (f"sweep of {len(PAIRS)} pairs, {big:,} bars", big_bars, "sweep"),
    ]
    for label, bars, kind in cases:
        n = len(bars)
        if kind == "single":
            t_ours = best_of(lambda b=bars: ours_single(b), repeat)
            size = min(n, bt_big)
            t_bt = best_of(lambda b=bars.iloc[:size]: bt_single(b), 1) * n / size
            bt_note = f"timed on {size:,} bars, extrapolated" if size < n else ""
            t_vbt = None
            if not args.skip_vectorbt:
                nb = naive(bars)
                t_vbt = best_of(lambda nb=nb: vbt_run(nb, [SINGLE]), repeat)
        else:
            t_ours = best_of(lambda b=bars: ours_sweep(b), repeat if n <= small else 2)
            size = min(n, bt_sweep_big)
            t_bt = (
                best_of(lambda b=bars.iloc[:size]: bt_sweep(b), 2 if size <= small else 1)
                * n
                / size
            )
            bt_note = f"timed on {size:,} bars, extrapolated" if size < n else ""
            t_vbt = None
            if not args.skip_vectorbt:
                nb = naive(bars)
                t_vbt = best_of(lambda nb=nb: vbt_run(nb, PAIRS), 2 if n <= small else 1)
        rows.append((label, t_ours, t_bt, bt_note, t_vbt))
        print(f"done: {label}", file=sys.stderr)

    lines = [
        "| case | tradepulse | backtesting.py | vs backtesting.py | vectorbt (warm) | vs vectorbt |",
        "|---|---|---|---|---|---|",
    ]
    for label, t_ours, t_bt, bt_note, t_vbt in rows:
        vs_bt = f"{t_bt / t_ours:,.0f}x faster"
        vs_vbt = f"{t_vbt / t_ours:,.1f}x faster" if t_vbt else "n/a"
        lines.append(
            f"| {label} | {fmt(t_ours)} | {fmt(t_bt, bt_note)} | {vs_bt} | {fmt(t_vbt)} | {vs_vbt} |"
        )
    if vbt_first is not None:
        lines.append("")
        lines.append(
            f"vectorbt first call (Numba compilation, {small:,} bars, 1 pair): {fmt(vbt_first)}"
        )
    lines.append("")
    lines.append(
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}."
    )
    table = "\n".join(lines)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
