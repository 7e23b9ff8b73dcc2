"""Domain errors of the algo app (mapped to HTTP once, in :mod:`algo.api.views`)."""

from __future__ import annotations


class FieldError(ValueError):
    """Bad input; ``field`` names the request field or parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MarketDataUnavailable(Exception):
    """Prices could not be fetched from the outside source (offline, rate-limited, unknown)."""


class RunNotReady(Exception):
    """The backtest has no results yet (queued, running or failed)."""
