"""Errors of the engine's inputs and settings; each names the field at fault where one is.

``field`` is the setting or input at fault (``cash``, ``commission``, ``quantity``, ``bar``,
``fast``, ``slow``, ``kind``, ...) or None when the problem is not one field's (a bad row of a
file names its row in the message instead); ``reason`` is the message without the field's name,
so a caller that reports errors per field (an API) maps them instead of checking again.
"""

from __future__ import annotations

__all__ = ["BacktestError", "DataError", "SettingError", "StrategyError"]


class BacktestError(Exception):
    """Base class of every error the backtest engine raises on bad input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.reason = message


class DataError(BacktestError, ValueError):
    """Price data is missing, malformed or cannot be obtained, or too short for the strategy.

    The message names the problem and, where one exists, the offending row and date, so it can be
    shown to a user as is.
    """


class SettingError(BacktestError, ValueError):
    """A setting out of range (cash, commission, quantity, bar interval, ...): ``str()`` is
    ``"<field> <reason>"``, e.g. ``"cash must be a positive number, got -1"``, unless the reason
    is a whole sentence naming the field itself (``sentence=True``)."""

    def __init__(self, field: str, reason: str, *, sentence: bool = False) -> None:
        super().__init__(reason if sentence else f"{field} {reason}", field=field)
        self.reason = reason


class StrategyError(SettingError):
    """Strategy parameters are invalid (e.g. ``fast >= slow`` or an unknown average kind)."""
