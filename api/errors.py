"""The one place where domain exceptions become HTTP responses, and the JSON error pages of
API paths."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ledger.idempotency import IdempotencyError
from tradepulse.symbols import InvalidTicker
from tradepulse.trades import TradeFieldErrors

# Other apps register (exception class, status, body builder) here at import time.
DOMAIN_ERRORS: list[tuple[type[Exception], int, object]] = []

# Error messages quote what was sent; a huge input is not sent back whole.
MAX_ECHO = 100
_LONG_MESSAGE = 2 * MAX_ECHO + 50


def register(exc_class: type[Exception], status_code: int, body=None) -> None:
    DOMAIN_ERRORS.append((exc_class, status_code, body))


def shorten(text: str) -> str:
    """``text`` itself, or, when it is long (a message quoting a huge input), its first and
    last ``MAX_ECHO`` characters around a note of how much was cut: the field's name and the
    message's advice survive, the input does not."""
    if len(text) <= _LONG_MESSAGE:
        return text
    cut = len(text) - 2 * MAX_ECHO
    return f"{text[:MAX_ECHO]}… [{cut} characters cut] …{text[-MAX_ECHO:]}"


def _shorten_all(data):
    if isinstance(data, str):
        return shorten(data)
    if isinstance(data, dict):
        return {shorten(str(k)): _shorten_all(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_shorten_all(item) for item in data]
    return data


def _accepted_types(context) -> list[str]:
    request = context.get("request")
    parsers = getattr(request, "parsers", None) or []
    return [parser.media_type for parser in parsers]


def _handle(exc, context):
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
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, UnsupportedMediaType):
        accepted = " or ".join(_accepted_types(context)) or "application/json"
        sent = context["request"].content_type if context.get("request") else ""
        return Response(
            {
                "detail": f'Unsupported media type "{sent}": send the body as {accepted} '
                f"(Content-Type header).",
                "accepted": _accepted_types(context) or ["application/json"],
            },
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    for exc_class, status_code, body in DOMAIN_ERRORS:
        if isinstance(exc, exc_class):
            payload = body(exc) if callable(body) else {"detail": str(exc)}
            return Response(payload, status=status_code)
    return drf_exception_handler(exc, context)


def exception_handler(exc, context):
    response = _handle(exc, context)
    if response is not None and response.status_code < 500:
        response.data = _shorten_all(response.data)
    return response


# --- Error pages (DJANGO_DEBUG=0) -----------------------------------------------------------
# Errors raised outside a DRF view (a bad Host header, a middleware, a 500) get Django's HTML
# pages; on /api/ paths a client expects JSON.


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception, *args, **kwargs):
    if _is_api(request):
        # Limits are the client's to know; other causes (a bad Host header) are not explained.
        known = isinstance(exception, TooManyFieldsSent | TooManyFilesSent | RequestDataTooBig)
        detail = f"Bad request: {exception}" if known else "Bad request."
        return JsonResponse({"detail": detail}, status=400)
    return defaults.bad_request(request, exception, *args, **kwargs)


def server_error(request, *args, **kwargs):
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request, *args, **kwargs)
