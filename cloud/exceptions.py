"""Domain errors of the cloud app. Those an API request can meet carry their HTTP answer
(``status_code``, ``as_body()``), read by ``api.errors``: the analysis API answers in the
Lambda's own shape, ``{"statusCode": ..., "message": ...}``."""

from __future__ import annotations

from datetime import date

from api.errors import ServiceUnavailable


class _AnsweredAsOutcome(Exception):
    status_code = 502

    def as_body(self) -> dict:
        return {"statusCode": self.status_code, "message": str(self)}


class InvalidDestination(_AnsweredAsOutcome, ValueError):
    """An export URL that is neither ``s3://BUCKET[/PREFIX]`` nor ``file:///PATH``.

    A 502 from the API: the server's configured destination is wrong, not the request."""


class ExportError(RuntimeError):
    """Writing an export failed (missing bucket, no credentials, endpoint down, disk full).

    The message is one line naming the destination and the cause; whatever was at the
    destination before is left as it was.
    """


class AnalysisBackendError(_AnsweredAsOutcome, RuntimeError):
    """The analysis backend could not be reached or answered something unusable (HTTP 502)."""


class AnalysisTimeout(AnalysisBackendError):
    """The analysis backend did not answer in time (HTTP 504)."""

    status_code = 504


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


class BrokerUnavailable(ServiceUnavailable):
    """The export of ``day`` could not be queued: no broker is configured, or it is down."""

    component = "broker"

    def __init__(self, message: str, day: date) -> None:
        super().__init__(message)
        self.day = day

    def as_body(self) -> dict:
        return {**super().as_body(), "date": self.day.isoformat()}
