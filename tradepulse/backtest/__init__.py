"""Backtesting of moving-average strategies on OHLCV bars.

The engine reproduces backtesting.py 0.6's execution and statistics (see
:mod:`tradepulse.backtest.engine` and :mod:`tradepulse.backtest.stats`), vectorised with NumPy.
"""

from .data import (
    bars_from_ticks,
    download,
    from_dataframe,
    load_csv,
    synthetic_bars,
    validate_bars,
)
from .engine import BacktestResult, backtest
from .errors import BacktestError, DataError, StrategyError
from .grid import sweep
from .indicators import ema, sma
from .stats import STAT_NAMES
from .strategies import MovingAverageCrossover, Strategy

__all__ = [
    "STAT_NAMES",
    "BacktestError",
    "BacktestResult",
    "DataError",
    "MovingAverageCrossover",
    "Strategy",
    "StrategyError",
    "backtest",
    "bars_from_ticks",
    "download",
    "ema",
    "from_dataframe",
    "load_csv",
    "sma",
    "sweep",
    "synthetic_bars",
    "validate_bars",
]
