"""The one place where domain exceptions become HTTP responses."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.outages import log_outage, outage_body, outage_component, retry_after
from ledger.idempotency import IdempotencyError
from tradepulse.symbols import InvalidTicker
from tradepulse.trades import TradeFieldErrors

# Other apps register (exception class, status, body builder) here at import time.
DOMAIN_ERRORS: list[tuple[type[Exception], int, object]] = []


def register(exc_class: type[Exception], status_code: int, body=None) -> None:
    DOMAIN_ERRORS.append((exc_class, status_code, body))


def exception_handler(exc, context):
    if isinstance(exc, TradeFieldErrors):
        exc = ValidationError(exc.errors)
    elif isinstance(exc, InvalidTicker):
        exc = ValidationError({"ticker": [str(exc)]})
    elif isinstance(exc, IdempotencyError):
        return Response(
            {"detail": exc.message, "header": "Idempotency-Key"}, status=exc.status_code
        )
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    for exc_class, status_code, body in DOMAIN_ERRORS:
        if isinstance(exc, exc_class):
            payload = body(exc) if callable(body) else {"detail": str(exc)}
            return Response(payload, status=status_code)
    component = outage_component(exc)
    if component is not None:
        request = context.get("request")
        log_outage(component, exc, request.path if request is not None else "?")
        return Response(
            outage_body(component),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": retry_after()},
        )
    return drf_exception_handler(exc, context)
