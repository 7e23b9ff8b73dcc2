"""A database or Redis outage is a 503 naming the component, never a 500.

``outage_component`` tells whether an exception (or one it was raised from) means a backing
service is unreachable; ``outage_response`` is the answer. The API's exception handler and
``OutageMiddleware`` (every other view) both use them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import JsonResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger("tradepulse.outages")

DETAIL = {
    "database": "The database is unavailable; retry later.",
    "redis": "Redis is unavailable; retry later.",
}


def _service_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    database: list[type[BaseException]] = [DjangoOperationalError, DjangoInterfaceError]
    cache: list[type[BaseException]] = []
    try:
        import psycopg

        database += [psycopg.OperationalError, psycopg.InterfaceError]
    except ImportError:  # pragma: no cover - SQLite-only installs
        pass
    try:
        import redis.exceptions

        cache += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:  # pragma: no cover
        pass
    try:
        # Celery's broker (Redis) refusing an enqueue.
        import kombu.exceptions

        cache.append(kombu.exceptions.OperationalError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(database), tuple(cache)


DATABASE_ERRORS, REDIS_ERRORS = _service_errors()


def outage_component(exc: BaseException | None) -> str | None:
    """``"database"``, ``"redis"`` or None, looking through the chain of causes."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, DATABASE_ERRORS):
            return "database"
        if isinstance(exc, REDIS_ERRORS):
            return "redis"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def log_outage(component: str, exc: BaseException, path: str) -> None:
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
    logger.warning("%s unavailable on %s: %s", component, path, first_line)


def outage_body(component: str) -> dict:
    return {"detail": DETAIL[component], "component": component}


def retry_after() -> str:
    return str(settings.OUTAGE_RETRY_AFTER_SECONDS)


class OutageMiddleware(MiddlewareMixin):
    """Views outside the API (pages, admin, health): an outage becomes the same 503."""

    def process_exception(self, request, exception):
        component = outage_component(exception)
        if component is None:
            return None
        log_outage(component, exception, request.path)
        response = JsonResponse(outage_body(component), status=503)
        response["Retry-After"] = retry_after()
        return response
