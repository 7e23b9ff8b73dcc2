"""Tick series whose bars are known: four ticks per bar (open, high, low, close)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradepulse.backtest import synthetic_bars
from tradepulse.market import Tick

T0 = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)


def ticks_for_bars(
    n: int,
    *,
    seed: int,
    ticker: str = "AAPL",
    step_seconds: int = 60,
    start: datetime = T0,
    gaps: tuple[int, ...] = (),
) -> list[Tick]:
    """Ticks that aggregate into ``synthetic_bars(n, seed)`` prices at ``step_seconds`` bars.

    Bars listed in ``gaps`` get no ticks (an interval without trading produces no bar).
    """
    bars = synthetic_bars(n, seed=seed)
    ticks = []
    step = timedelta(seconds=step_seconds)
    quarter = step / 4
    for i, row in enumerate(bars.itertuples()):
        if i in gaps:
            continue
        begin = start + step * i
        for k, price in enumerate((row.Open, row.High, row.Low, row.Close)):
            ticks.append(
                Tick(ticker, round(price, 4), begin + quarter * k + timedelta(microseconds=1))
            )
    return ticks
