import math

import pandas as pd
import pytest

from tradepulse.backtest import (
    STAT_NAMES,
    BacktestError,
    MovingAverageCrossover,
    backtest,
    sweep,
    synthetic_bars,
)
from tradepulse.backtest import grid as sweep_module


def _same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if a is None or b is None or a is pd.NaT or b is pd.NaT:
        return pd.isna(a) and pd.isna(b)
    return a == b


@pytest.fixture(scope="module")
def bars():
    return synthetic_bars(1500, seed=8)


def test_each_row_equals_running_that_pair_alone(bars):
    table = sweep(
        bars,
        fast=range(5, 21, 5),
        slow=range(10, 41, 10),
        kind="ema",
        allow_short=True,
        commission=0.001,
    )
    assert len(table) == sum(1 for f in range(5, 21, 5) for s in range(10, 41, 10) if f < s)
    for row in table.to_dict(orient="records"):
        alone = backtest(
            bars, MovingAverageCrossover(row["fast"], row["slow"], "ema", True), commission=0.001
        ).stats
        for name in STAT_NAMES:
            assert _same(row[name], alone[name]), (row["fast"], row["slow"], name)


def test_rows_are_sorted_by_metric_descending_with_nan_last(bars):
    table = sweep(bars, fast=[2, 5, 100], slow=[10, 20, 400], metric="return_pct")
    values = table["return_pct"].tolist()
    finite = [v for v in values if not math.isnan(v)]
    assert finite == sorted(finite, reverse=True)
    assert all(f < s for f, s in zip(table["fast"], table["slow"], strict=True))


def test_nan_metrics_sort_last():
    bars = synthetic_bars(300, seed=2)
    table = sweep(bars, fast=[2, 3, 250], slow=[5, 260, 290], metric="sqn")
    flags = table["sqn"].isna().tolist()
    assert True in flags and flags == sorted(flags)


def test_process_pool_gives_the_same_table(bars, monkeypatch):
    serial = sweep(bars, fast=range(5, 16, 5), slow=range(20, 41, 10), workers=1)
    monkeypatch.setattr(sweep_module, "PARALLEL_MIN_WORK", 1)
    monkeypatch.setattr(sweep_module, "PARALLEL_MIN_WORK_FRESH", 1)
    seen = []
    parallel = sweep(
        bars,
        fast=range(5, 16, 5),
        slow=range(20, 41, 10),
        workers=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    pd.testing.assert_frame_equal(serial, parallel)
    done = [d for d, _ in seen]
    assert len(seen) >= 2 and done == sorted(done) and seen[-1] == (9, 9)


def test_progress_is_reported_as_batches_complete(bars, monkeypatch):
    monkeypatch.setattr(sweep_module, "BATCH_CELLS", 2 * len(bars))  # two pairs per batch
    seen = []
    sweep(bars, fast=[5, 10], slow=[20, 30, 40], progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 6), (4, 6), (6, 6)]


def test_bad_grids_and_metrics_are_refused(bars):
    with pytest.raises(BacktestError, match="no \\(fast, slow\\) pair"):
        sweep(bars, fast=[30], slow=[10, 20])
    with pytest.raises(BacktestError, match="unknown metric"):
        sweep(bars, fast=[5], slow=[10], metric="duration")
