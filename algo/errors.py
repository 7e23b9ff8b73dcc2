"""Domain errors of the algo app; each carries its HTTP answer (``status_code``,
``as_body()``), read by ``api.errors``."""

from __future__ import annotations

from api.errors import DomainError, ServiceUnavailable


class FieldError(DomainError, ValueError):
    """Bad input; ``field`` names the request field or parameter at fault."""

    status_code = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_body(self) -> dict:
        return {self.field: [self.message]}


class MarketDataUnavailable(DomainError):
    """Prices could not be fetched from the outside source (offline, rate-limited, unknown)."""

    status_code = 502

    def as_body(self) -> dict:
        return {"detail": str(self), "field": "ticker"}


class RunNotReady(DomainError):
    """The backtest has no results yet (queued, running or failed)."""

    status_code = 409


class RunFinished(DomainError):
    """The backtest already ended (done, failed or cancelled): it cannot be cancelled."""

    status_code = 409


class TooManyRuns(DomainError):
    """The user already has ``BACKTEST_MAX_ACTIVE_PER_USER`` backtests queued or running."""

    status_code = 429


class WorkerUnavailable(ServiceUnavailable):
    """The background worker's broker did not take the run; ``run_id`` is stored as failed.
    A 503 with ``Retry-After``, as every outage."""

    component = "broker"

    def __init__(self, message: str, run_id: int) -> None:
        super().__init__(message)
        self.run_id = run_id

    def as_body(self) -> dict:
        return {**super().as_body(), "run": self.run_id}
