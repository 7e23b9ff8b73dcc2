"""The one place where exceptions become HTTP responses, and the JSON error pages of API paths.

A domain error says itself how it is answered, as DRF's ``APIException`` does: an integer
``status_code``, an ``as_body()`` giving the JSON body and, optionally, a ``headers()`` giving
response headers (as DRF's ``auth_header`` and ``wait`` become ``WWW-Authenticate`` and
``Retry-After``). :class:`DomainError` is a base with all three; errors of the framework-free
engine (``tradepulse``) carry the first two without importing anything from here. Nothing is
registered anywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.outages import log_outage, outage_body, outage_component, retry_after
from api.parsers import UnsupportedCharset

# Error messages quote what was sent; a huge input is not sent back whole.
MAX_ECHO = 100
_LONG_MESSAGE = 2 * MAX_ECHO + 50


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
    return [parser.media_type for parser in parsers] or ["application/json"]


class DomainError(Exception):
    """An error of a service that the API answers with ``status_code`` and ``as_body()``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail if detail is not None else self.default_detail)

    def as_body(self) -> Any:
        return {"detail": str(self)}

    def headers(self) -> dict[str, str]:
        """Response headers of the answer (none by default)."""
        return {}


class ServiceUnavailable(DomainError):
    """A component the request needs is down: a 503 naming it, with ``Retry-After`` (the
    value every outage answer gives, ``OUTAGE_RETRY_AFTER_SECONDS``)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    component = "unknown"

    def as_body(self) -> Any:
        return {"detail": str(self), "component": self.component}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": retry_after()}


def answered_by_itself(exc: BaseException) -> bool:
    """Whether ``exc`` carries its own HTTP answer (``status_code`` and ``as_body()``)."""
    return isinstance(getattr(exc, "status_code", None), int) and callable(
        getattr(exc, "as_body", None)
    )


def exception_handler(exc, context):
    response = _handle(exc, context)
    if response is not None and response.status_code < 500:
        response.data = _shorten_all(response.data)
    return response


def _handle(exc, context):
    if answered_by_itself(exc):
        headers = getattr(exc, "headers", None)
        return Response(
            exc.as_body(),
            status=exc.status_code,
            headers=headers() if callable(headers) else None,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, UnsupportedCharset):
        return Response({"detail": exc.detail}, status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    if isinstance(exc, UnsupportedMediaType):
        accepted = _accepted_types(context)
        request = context.get("request")
        sent = request.content_type if request is not None else ""
        return Response(
            {
                "detail": f'Unsupported media type "{sent}": send the body as '
                f"{' or '.join(accepted)} (Content-Type header).",
                "accepted": accepted,
            },
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
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
