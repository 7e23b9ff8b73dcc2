"""The one place where exceptions become HTTP responses.

A domain error says itself how it is answered, as DRF's ``APIException`` does: an integer
``status_code`` and an ``as_body()`` giving the JSON body. :class:`DomainError` is a base with
both; errors of the framework-free engine (``tradepulse``) carry the same two attributes
without importing anything from here. Nothing is registered anywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.outages import log_outage, outage_body, outage_component, retry_after


class DomainError(Exception):
    """An error of a service that the API answers with ``status_code`` and ``as_body()``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail if detail is not None else self.default_detail)

    def as_body(self) -> Any:
        return {"detail": str(self)}


def answered_by_itself(exc: BaseException) -> bool:
    """Whether ``exc`` carries its own HTTP answer (``status_code`` and ``as_body()``)."""
    return isinstance(getattr(exc, "status_code", None), int) and callable(
        getattr(exc, "as_body", None)
    )


def exception_handler(exc, context):
    if answered_by_itself(exc):
        return Response(exc.as_body(), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
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
