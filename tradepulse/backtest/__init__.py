"""Backtesting of moving-average strategies on OHLCV bars.

The engine reproduces backtesting.py 0.6's execution and statistics (see
:mod:`tradepulse.backtest.simulation` and :mod:`tradepulse.backtest.stats`), vectorised with
NumPy. The names that need pandas are loaded when first used, so ``python -m
tradepulse.backtest`` loads pandas only when its work needs a DataFrame.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import BacktestError, DataError, StrategyError
from .indicators import ema, sma
from .stats import STAT_NAMES
from .strategies import MovingAverageCrossover, Strategy

if TYPE_CHECKING:
    from .data import bars_from_ticks as bars_from_ticks
    from .data import download as download
    from .data import from_dataframe as from_dataframe
    from .data import load_csv as load_csv
    from .data import synthetic_bars as synthetic_bars
    from .data import validate_bars as validate_bars
    from .engine import BacktestResult as BacktestResult
    from .engine import backtest as backtest
    from .grid import sweep as sweep

#: The names loaded when first used, and the module of each (these modules import pandas).
_ON_USE = {
    "bars_from_ticks": "data",
    "download": "data",
    "from_dataframe": "data",
    "load_csv": "data",
    "synthetic_bars": "data",
    "validate_bars": "data",
    "BacktestResult": "engine",
    "backtest": "engine",
    "sweep": "grid",
}

__all__ = [
    "STAT_NAMES",
    "BacktestError",
    "DataError",
    "MovingAverageCrossover",
    "Strategy",
    "StrategyError",
    "ema",
    "sma",
    *_ON_USE,
]


def __getattr__(name: str) -> Any:
    home = _ON_USE.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_USE})
