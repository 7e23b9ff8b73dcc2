"""The backtest engine: a strategy on a bars frame, and its results as pandas objects.

:func:`backtest` validates the bars, runs :func:`~tradepulse.backtest.simulation.run_strategy`
(whose module states the execution rules, after backtesting.py 0.6's defaults) and wraps the
outcome in a :class:`BacktestResult`: trades as a DataFrame, equity as a Series.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradepulse import broker

from .data import validate_bars
from .simulation import run_strategy
from .stats import json_safe, stats_json
from .strategies import Strategy

TRADE_COLUMNS = (
    "entry_bar",
    "exit_bar",
    "entry_time",
    "exit_time",
    "size",
    "entry_price",
    "exit_price",
    "pnl",
    "return_pct",
    "commission",
    "duration",
)


@dataclass
class BacktestResult:
    """Outcome of one backtest.

    ``stats`` maps every name of :data:`~tradepulse.backtest.stats.STAT_NAMES` to a value:
    ``start``/``end`` are ``datetime`` (UTC), durations are ``timedelta`` or ``None``
    when undefined, other figures are ``float`` (NaN when undefined) and ``trades`` is ``int``.
    ``trades`` is a DataFrame of closed trades (columns :data:`TRADE_COLUMNS`; ``size`` is
    negative for shorts, ``return_pct`` in percent after commissions). ``equity`` is the account
    value at each bar's close; ``open_trade`` describes a position still open at the end.
    """

    strategy: Strategy
    bars: pd.DataFrame
    stats: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.Series
    cash: float
    commission: float
    open_trade: dict[str, Any] | None = None

    @cached_property
    def indicators(self) -> dict[str, npt.NDArray[np.float64]]:
        """The strategy's indicator lines on these bars (computed when first asked for)."""
        return self.strategy.indicators(self.bars["Close"].to_numpy(dtype=np.float64))

    @property
    def drawdown_pct(self) -> pd.Series:
        """Drawdown from the running equity peak at each bar, in percent (<= 0)."""
        eq = self.equity.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = (eq / np.maximum.accumulate(eq) - 1) * 100
        return pd.Series(dd, index=self.equity.index, name="Drawdown [%]")

    def to_json_dict(self) -> dict[str, Any]:
        """The statistics as JSON-safe values.

        Timestamps become ISO 8601 strings, durations become seconds (float), NaN and
        infinities become ``None``. Keys are exactly :data:`~tradepulse.backtest.stats.STAT_NAMES`.
        """
        return stats_json(self.stats)

    def trades_json(self) -> list[dict[str, Any]]:
        """The closed trades as JSON-safe dicts (times ISO 8601, duration in seconds)."""
        rows = []
        for row in self.trades.itertuples(index=False):
            rows.append({name: json_safe(getattr(row, name)) for name in TRADE_COLUMNS})
        return rows


def backtest(
    bars: pd.DataFrame,
    strategy: Strategy,
    *,
    cash: float = 10_000.0,
    commission: float = 0.0,
) -> BacktestResult:
    """Backtest ``strategy`` on OHLC ``bars`` and return its :class:`BacktestResult`.

    ``bars`` is anything :func:`~tradepulse.backtest.data.validate_bars` accepts (a DataFrame
    with Open/High/Low/Close and dates); ``commission`` is a fraction of traded value charged on
    entry and on exit. Raises :class:`DataError` on bad bars, :class:`BacktestError` on bad
    money settings (:mod:`tradepulse.broker`'s rules; ``field`` names the setting).
    """
    cash, commission = broker.check_cash(cash), broker.check_commission(commission)
    bars = validate_bars(bars)
    index = bars.index
    stats, sim = run_strategy(
        index.asi8,
        bars["Open"].to_numpy(dtype=np.float64),
        bars["Close"].to_numpy(dtype=np.float64),
        strategy,
        cash,
        commission,
    )
    t = sim.trades
    trades = pd.DataFrame(
        {
            "entry_bar": t.entry_bar,
            "exit_bar": t.exit_bar,
            "entry_time": index[t.entry_bar],
            "exit_time": index[t.exit_bar],
            "size": sim.size,
            "entry_price": sim.entry_price,
            "exit_price": sim.exit_price,
            "pnl": t.pnl,
            "return_pct": t.return_frac * 100,
            "commission": t.commission,
        }
    )
    trades["duration"] = trades["exit_time"] - trades["entry_time"]
    open_trade = sim.open_trade
    if open_trade is not None:
        open_trade = dict(open_trade, entry_time=index[open_trade["entry_bar"]])
    return BacktestResult(
        strategy=strategy,
        bars=bars,
        stats=stats,
        trades=trades,
        equity=pd.Series(sim.equity, index=index, name="Equity"),
        cash=cash,
        commission=commission,
        open_trade=open_trade,
    )
