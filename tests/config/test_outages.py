"""Which exceptions are outages, and the 503 every view answers for them."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis
from django.db import OperationalError
from django.test import RequestFactory
from kombu.exceptions import OperationalError as BrokerError

from api.errors import exception_handler
from api.outages import OutageMiddleware, outage_component


def raised_from(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "component"),
    [
        (OperationalError("server closed the connection unexpectedly"), "database"),
        (psycopg.OperationalError("connection refused"), "database"),
        (redis.exceptions.ConnectionError("Error 111 connecting"), "redis"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "redis"),
        (BrokerError("Error 111 connecting to the broker"), "redis"),
        (raised_from(redis.exceptions.ConnectionError("refused")), "redis"),
        (ValueError("a bug"), None),
    ],
)
def test_outage_component(exc, component):
    assert outage_component(exc) == component


def test_a_page_outside_the_api_answers_503_naming_the_component(settings):
    settings.OUTAGE_RETRY_AFTER_SECONDS = 7
    request = RequestFactory().get("/web/monitor/")
    middleware = OutageMiddleware(lambda r: None)
    response = middleware.process_exception(request, OperationalError("terminating connection"))
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert json.loads(response.content) == {
        "detail": "The database is unavailable; retry later.",
        "component": "database",
    }
    assert middleware.process_exception(request, ValueError("a bug")) is None


def test_the_api_answers_503_naming_redis():
    request = RequestFactory().get("/api/positions/")
    response = exception_handler(redis.exceptions.ConnectionError("refused"), {"request": request})
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.data["component"] == "redis"
