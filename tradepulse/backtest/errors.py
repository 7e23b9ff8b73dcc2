"""Exceptions raised by the backtest engine."""

from __future__ import annotations


class BacktestError(Exception):
    """Base class of every error the backtest engine raises on bad input."""


class DataError(BacktestError, ValueError):
    """Price data is missing, malformed or cannot be obtained.

    The message names the problem and, where one exists, the offending row and date, so it can be
    shown to a user as is.
    """


class StrategyError(BacktestError, ValueError):
    """Strategy parameters are invalid (e.g. ``fast >= slow`` or an unknown average kind)."""
