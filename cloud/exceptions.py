"""Domain errors of the cloud app; ``cloud.api`` maps the analysis ones to HTTP once."""

from __future__ import annotations


class InvalidDestination(ValueError):
    """An export URL that is neither ``s3://BUCKET[/PREFIX]`` nor ``file:///PATH``."""


class ExportError(RuntimeError):
    """Writing an export failed (missing bucket, no credentials, endpoint down, disk full).

    The message is one line naming the destination and the cause; whatever was at the
    destination before is left as it was.
    """


class AnalysisBackendError(RuntimeError):
    """The analysis backend could not be reached or answered something unusable (HTTP 502)."""


class AnalysisTimeout(AnalysisBackendError):
    """The analysis backend did not answer in time (HTTP 504)."""


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())
