"""Exceptions raised by the backtest engine (defined in :mod:`tradepulse.errors`)."""

from __future__ import annotations

from tradepulse.errors import BacktestError, DataError, SettingError, StrategyError

__all__ = ["BacktestError", "DataError", "SettingError", "StrategyError"]
