"""What a backtest run's interactive chart draws: bars, both averages, entry and exit markers,
equity and drawdown, as JSON-safe series for lightweight-charts (times in epoch seconds)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from algo.errors import RunNotReady
from algo.models import BacktestRun
from algo.params import StrategyParams
from algo.services import backtest_bars
from tradepulse.backtest import backtest

#: Above this many bars the chart draws every n-th point: a browser cannot show more anyway.
MAX_POINTS = 5000


def _times(index) -> list[int]:
    return [int(ts.timestamp()) for ts in index]


def _series(times: list[int], values, step: int) -> list[dict[str, float]]:
    out = []
    for i in range(0, len(times), step):
        value = float(values[i])
        if math.isfinite(value):
            out.append({"time": times[i], "value": round(value, 6)})
    return out


def backtest_chart(run: BacktestRun) -> dict[str, Any]:
    """The chart of a finished run (recomputed from its bars, as the API's plots are).

    Raises :class:`RunNotReady` while the run is queued, running or failed.
    """
    if run.status != BacktestRun.Status.DONE:
        raise RunNotReady(f"backtest {run.pk} is {run.status}; its chart exists once it is done")
    params = StrategyParams.from_json(run.params)
    bars = backtest_bars(run)
    result = backtest(
        bars, params.strategy(), cash=float(params.cash), commission=params.commission
    )
    times = _times(bars.index)
    step = max(1, math.ceil(len(times) / MAX_POINTS))
    candles = [
        {
            "time": times[i],
            "open": round(float(o), 6),
            "high": round(float(h), 6),
            "low": round(float(lo), 6),
            "close": round(float(c), 6),
        }
        for i, (o, h, lo, c) in enumerate(
            bars[["Open", "High", "Low", "Close"]].itertuples(index=False, name=None)
        )
        if i % step == 0
    ]
    averages = [
        {"name": name, "points": _series(times, np.asarray(values), step)}
        for name, values in result.indicators.items()
    ]
    markers = []
    for trade in result.trades.itertuples(index=False):
        long = trade.size > 0
        markers.append(
            {
                "time": times[int(trade.entry_bar)],
                "position": "belowBar" if long else "aboveBar",
                "color": "#26a69a" if long else "#ef5350",
                "shape": "arrowUp" if long else "arrowDown",
                "text": "Buy" if long else "Short",
            }
        )
        markers.append(
            {
                "time": times[int(trade.exit_bar)],
                "position": "aboveBar" if long else "belowBar",
                "color": "#f0b429",
                "shape": "arrowDown" if long else "arrowUp",
                "text": "Exit",
            }
        )
    if result.open_trade is not None:
        long = result.open_trade["size"] > 0
        markers.append(
            {
                "time": times[int(result.open_trade["entry_bar"])],
                "position": "belowBar" if long else "aboveBar",
                "color": "#26a69a" if long else "#ef5350",
                "shape": "arrowUp" if long else "arrowDown",
                "text": "Buy (open)" if long else "Short (open)",
            }
        )
    markers.sort(key=lambda m: m["time"])
    return {
        "candles": candles,
        "averages": averages,
        "markers": markers,
        "equity": _series(times, result.equity.to_numpy(), step),
        "drawdown": _series(times, result.drawdown_pct.to_numpy(), step),
    }
