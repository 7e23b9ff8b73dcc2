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


class RunFinished(Exception):
    """The backtest already ended (done, failed or cancelled): it cannot be cancelled."""


class TooManyRuns(Exception):
    """The user already has ``BACKTEST_MAX_ACTIVE_PER_USER`` backtests queued or running."""


class WorkerUnavailable(Exception):
    """The background worker's broker did not take the run; ``run_id`` is stored as failed."""

    def __init__(self, message: str, run_id: int) -> None:
        super().__init__(message)
        self.run_id = run_id
