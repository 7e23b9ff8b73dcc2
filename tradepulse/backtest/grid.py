"""Parameter sweeps of :class:`MovingAverageCrossover` over a grid of windows."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from tradepulse import broker

from .data import validate_bars
from .errors import BacktestError
from .indicators import MOVING_AVERAGES, sma_many
from .simulation import run_prepared
from .stats import STAT_NAMES, SWEEP_METRICS, Calendar
from .strategies import MovingAverageCrossover

ProgressCallback = Callable[[int, int], None]

#: Bars x combinations below which a sweep stays in this process: starting workers and
#: having each recompute the averages costs more than a small grid takes.
PARALLEL_MIN_WORK = 4_000_000
#: The same threshold when workers must start from a fresh interpreter (forkserver or spawn:
#: this process runs other threads, so fork is unsafe). Importing the engine and receiving the
#: bars costs each worker seconds, about what a 100,000,000 bar-run grid takes in-process.
PARALLEL_MIN_WORK_FRESH = 250_000_000
#: Pairs run together as rows of 2-D arrays, up to this many bars x pairs per batch: small
#: data sets then cost a few NumPy calls per statistic instead of a few per pair.
BATCH_CELLS = 1_000_000


class _GridRunner:
    """Runs grid points on one data set, caching each moving average it computes."""

    def __init__(
        self, bars: pd.DataFrame, kind: str, allow_short: bool, cash: float, commission: float
    ):
        self.kind = kind
        self.allow_short = allow_short
        self.cash = cash
        self.commission = commission
        self.calendar = Calendar.from_index(bars.index)
        self.open = bars["Open"].to_numpy(dtype=np.float64)
        self.close = bars["Close"].to_numpy(dtype=np.float64)
        self._averages: dict[int, np.ndarray] = {}

    def average(self, window: int) -> np.ndarray:
        if window not in self._averages:
            self._averages[window] = MOVING_AVERAGES[self.kind](self.close, window)
        return self._averages[window]

    def prefetch(self, windows: list[int]) -> None:
        """Compute the averages of ``windows`` not cached yet, together where that is cheaper."""
        missing = sorted({w for w in windows if w not in self._averages})
        if self.kind == "sma" and len(missing) > 1:
            self._averages.update(zip(missing, sma_many(self.close, missing), strict=True))

    def run(self, pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
        self.prefetch([w for pair in pairs for w in pair])
        strategies = [MovingAverageCrossover(f, s, self.kind, self.allow_short) for f, s in pairs]
        targets = [
            st.positions_from_averages(self.average(st.fast), self.average(st.slow))
            for st in strategies
        ]
        stats, _ = run_prepared(
            self.open, self.close, self.calendar, strategies, targets, self.cash, self.commission
        )
        return [{"fast": f, "slow": s, **row} for (f, s), row in zip(pairs, stats, strict=True)]


_worker: _GridRunner | None = None


def _init_worker(
    bars: pd.DataFrame, kind: str, allow_short: bool, cash: float, comm: float
) -> None:
    global _worker
    _worker = _GridRunner(bars, kind, allow_short, cash, comm)


def _run_in_worker(pairs: list[tuple[int, int]]) -> list[dict[str, Any]]:
    assert _worker is not None
    return _worker.run(pairs)


def _batches(
    pairs: list[tuple[int, int]], n_bars: int, min_batches: int = 1
) -> list[list[tuple[int, int]]]:
    size = max(1, min(BATCH_CELLS // max(1, n_bars), -(-len(pairs) // min_batches)))
    return [pairs[i : i + size] for i in range(0, len(pairs), size)]


def _start_method() -> str:
    # fork is cheapest but only safe while this process runs a single thread (a web server
    # calling in may not); forkserver and spawn re-import the engine in a clean process.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _windows(name: str, values: Iterable[int]) -> list[int]:
    try:
        out = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise BacktestError(f"{name} must be whole numbers, got {values!r}") from None
    if not out or out[0] < 1:
        raise BacktestError(f"{name} needs at least one window >= 1, got {values!r}")
    return out


def sweep(
    bars: pd.DataFrame,
    *,
    fast: Iterable[int],
    slow: Iterable[int],
    metric: str = "sharpe_ratio",
    kind: str = "sma",
    allow_short: bool = False,
    cash: float = 10_000.0,
    commission: float = 0.0,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Backtest every ``(fast, slow)`` pair with ``fast < slow`` and rank them by ``metric``.

    Returns one row per pair: columns ``fast``, ``slow`` and every statistic of
    :data:`STAT_NAMES`, sorted by ``metric`` descending with NaN last (ties keep grid order).
    Each row equals ``backtest(bars, MovingAverageCrossover(fast, slow, kind, allow_short),
    cash=cash, commission=commission).stats``. ``workers`` caps the processes used (default:
    all CPUs); a grid smaller than :data:`PARALLEL_MIN_WORK` bar-runs stays in-process (or
    :data:`PARALLEL_MIN_WORK_FRESH` when worker processes cannot be forked).
    ``progress(done, total)`` is called as pairs complete (after each batch).
    """
    if metric not in SWEEP_METRICS:
        raise BacktestError(f"unknown metric {metric!r}; choose one of {', '.join(SWEEP_METRICS)}")
    cash, commission = broker.check_cash(cash), broker.check_commission(commission)
    MovingAverageCrossover(1, 2, kind, allow_short)  # validates kind and allow_short
    bars = validate_bars(bars)
    fasts, slows = _windows("fast", fast), _windows("slow", slow)
    grid = [(f, s) for f in fasts for s in slows if f < s]
    if not grid:
        raise BacktestError("no (fast, slow) pair with fast < slow in the grid")
    broker.check_bar_count(len(bars), MovingAverageCrossover(grid[0][0], max(s for _, s in grid)))

    total = len(grid)
    cpus = os.cpu_count() or 1
    n_workers = min(cpus if workers is None else max(1, int(workers)), total)
    rows: list[dict[str, Any]] = []
    start_method = _start_method()
    min_work = PARALLEL_MIN_WORK if start_method == "fork" else PARALLEL_MIN_WORK_FRESH
    if n_workers > 1 and len(bars) * total >= min_work:
        # Slow windows first: the long-running pairs start early and the tail stays short.
        order = sorted(grid, key=lambda p: (-p[1], p[0]))
        context = multiprocessing.get_context(start_method)
        with ProcessPoolExecutor(
            n_workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(bars, kind, allow_short, cash, commission),
        ) as pool:
            futures = [
                pool.submit(_run_in_worker, batch)
                for batch in _batches(order, len(bars), 2 * n_workers)
            ]
            for future in futures:
                rows.extend(future.result())
                if progress is not None:
                    progress(len(rows), total)
    else:
        runner = _GridRunner(bars, kind, allow_short, cash, commission)
        for batch in _batches(grid, len(bars)):
            rows.extend(runner.run(batch))
            if progress is not None:
                progress(len(rows), total)

    table = pd.DataFrame(rows, columns=["fast", "slow", *STAT_NAMES])
    table = table.sort_values(["fast", "slow"], kind="stable")
    table = table.sort_values(metric, ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)
