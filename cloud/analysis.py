"""Running the daily trade analysis: in-process, through AWS Lambda, or through API Gateway.

``TRADE_ANALYSIS_BACKEND`` picks one of the backends below; all run the same code
(``tradepulse.analysis.run_analysis``), against the export storage (``TRADES_EXPORT_URL``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cloud.exceptions import AnalysisBackendError, AnalysisTimeout, one_line
from tradepulse.analysis import (
    AnalysisOutcome,
    AnalysisStorage,
    NotFound,
    analysis_key,
    run_analysis,
)

# Outcomes of the analysis passed on as they are; anything else from a remote function
# (a crash, a misconfiguration) is the gateway's problem: 502.
PASSED_THROUGH = frozenset({200, 400, 404, 422, 502})
_LAMBDA_TIMEOUT_MARKERS = ("Task timed out", "Sandbox.Timedout")


class AnalysisBackend:
    """Contract of a way to run one day's analysis.

    ``run(day)`` analyses the day's exported trades and saves the result next to them, and
    returns the analysis' own ``AnalysisOutcome`` (200 saved; 404 no trade file; 422 malformed
    file; 502 storage failure; 400 bad date). It raises ``AnalysisTimeout`` when the backend
    does not answer in time and ``AnalysisBackendError`` when it cannot be reached or answers
    something that is not an outcome; the message gives the cause. It never raises anything
    else for a failure of the outside world.
    """

    name: str = ""

    def run(self, day: date) -> AnalysisOutcome:  # pragma: no cover - contract only
        raise NotImplementedError


class LocalAnalysisBackend(AnalysisBackend):
    """In this process, against ``storage`` (the export folder or bucket)."""

    name = "local"

    def __init__(self, storage: AnalysisStorage) -> None:
        self.storage = storage

    def run(self, day: date) -> AnalysisOutcome:
        return run_analysis(day.isoformat(), self.storage)


class LambdaAnalysisBackend(AnalysisBackend):
    """``Invoke`` of the function (RequestResponse, payload ``{"date": "YYYY-MM-DD"}``)."""

    name = "lambda"

    def __init__(self, function_name: str, client: Any) -> None:
        if not function_name:
            raise AnalysisBackendError(
                "the lambda analysis backend needs AWS_LAMBDA_FUNCTION_NAME to be set"
            )
        self.function_name = function_name
        self.client = client

    def run(self, day: date) -> AnalysisOutcome:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            ReadTimeoutError,
        )

        where = f"Lambda function {self.function_name!r}"
        try:
            answer = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"date": day.isoformat()}).encode(),
            )
            raw = answer["Payload"].read()
        except (ReadTimeoutError, ConnectTimeoutError) as error:
            raise AnalysisTimeout(f"{where} did not answer in time: {one_line(error)}") from error
        except (BotoCoreError, ClientError) as error:
            raise AnalysisBackendError(f"{where} failed: {one_line(error)}") from error

        payload = _json_or_none(raw)
        if answer.get("FunctionError"):
            detail = payload if isinstance(payload, dict) else {}
            message = str(detail.get("errorMessage") or raw[:200].decode(errors="replace"))
            kind = str(detail.get("errorType") or answer["FunctionError"])
            if any(marker in f"{kind} {message}" for marker in _LAMBDA_TIMEOUT_MARKERS):
                raise AnalysisTimeout(f"{where} timed out: {one_line(message)}")
            raise AnalysisBackendError(f"{where} raised {kind}: {one_line(message)}")
        return _outcome(payload, where)


class HttpAnalysisBackend(AnalysisBackend):
    """``GET URL?date=YYYY-MM-DD`` on the API Gateway endpoint of the function."""

    name = "http"

    def __init__(self, url: str, timeout: float) -> None:
        if not url:
            raise AnalysisBackendError(
                "the http analysis backend needs AWS_LAMBDA_API_URL to be set"
            )
        self.url = url
        self.timeout = timeout

    def request_url(self, day: date) -> str:
        parts = urlsplit(self.url)
        query = "&".join(filter(None, [parts.query, urlencode({"date": day.isoformat()})]))
        return urlunsplit(parts._replace(query=query))

    def run(self, day: date) -> AnalysisOutcome:
        where = f"analysis API {urlsplit(self.url).netloc}"
        request = urllib.request.Request(
            self.request_url(day), headers={"Accept": "application/json"}, method="GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            # 4xx/5xx still carry the function's answer (or API Gateway's own message).
            with error:
                status, raw = error.code, error.read()
        except TimeoutError as error:
            raise AnalysisTimeout(f"{where} did not answer within {self.timeout:g} s") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):  # socket.timeout is TimeoutError
                raise AnalysisTimeout(
                    f"{where} did not answer within {self.timeout:g} s"
                ) from error
            raise AnalysisBackendError(f"{where} unreachable: {error.reason}") from error
        except OSError as error:
            raise AnalysisBackendError(f"{where} failed: {error}") from error

        payload = _json_or_none(raw)
        if isinstance(payload, dict) and "statusCode" in payload:
            return _outcome(payload, where)
        # Not the function's answer: API Gateway's own error ({"message": ...}) or a proxy's.
        detail = payload.get("message") if isinstance(payload, dict) else None
        detail = detail or raw[:200].decode(errors="replace").strip() or "no body"
        if status == 504:
            raise AnalysisTimeout(f"{where} answered HTTP 504: {one_line(str(detail))}")
        raise AnalysisBackendError(f"{where} answered HTTP {status}: {one_line(str(detail))}")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _outcome(payload: Any, where: str) -> AnalysisOutcome:
    """The function's ``{"statusCode": int, "message": str}``, checked."""
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("statusCode"), int)
        and isinstance(payload.get("message"), str)
    ):
        raise AnalysisBackendError(f"{where} answered something that is not an analysis outcome")
    status, message = payload["statusCode"], payload["message"]
    if status not in PASSED_THROUGH:
        raise AnalysisBackendError(f"{where} failed with status {status}: {one_line(message)}")
    return AnalysisOutcome(status, message)


def configured_backend() -> AnalysisBackend:
    """The backend named by ``TRADE_ANALYSIS_BACKEND`` (``local``, ``lambda`` or ``http``)."""
    from django.conf import settings

    name = settings.TRADE_ANALYSIS_BACKEND
    if name == "local":
        from cloud.destinations import configured_destination

        return LocalAnalysisBackend(configured_destination().storage())
    if name == "lambda":
        from cloud.aws import lambda_client

        return LambdaAnalysisBackend(
            settings.AWS_LAMBDA_FUNCTION_NAME, lambda_client(settings.TRADE_ANALYSIS_TIMEOUT)
        )
    if name == "http":
        return HttpAnalysisBackend(settings.AWS_LAMBDA_API_URL, settings.TRADE_ANALYSIS_TIMEOUT)
    raise AnalysisBackendError(
        f"unknown TRADE_ANALYSIS_BACKEND {name!r}: expected local, lambda or http"
    )


def saved_analysis(day: date, storage: AnalysisStorage) -> dict[str, Any] | None:
    """The analysis JSON saved for ``day`` in ``storage``, or ``None`` if there is none.

    Raises ``AnalysisBackendError`` when the storage fails or holds something unreadable.
    """
    from tradepulse.analysis import StorageError

    key = analysis_key(day)
    try:
        with storage.open_text(key) as lines:
            text = "".join(lines)
    except NotFound:
        return None
    except StorageError as error:
        raise AnalysisBackendError(f"cannot read the analysis of {day}: {error}") from error
    try:
        result = json.loads(text)
    except ValueError as error:
        raise AnalysisBackendError(f"{storage.describe(key)} is not valid JSON: {error}") from error
    if not isinstance(result, dict):
        raise AnalysisBackendError(f"{storage.describe(key)} is not an analysis result")
    return result
