"""Liveness (``/healthz``) and readiness (``/readyz``) checks; no authentication."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not ready"; the log says which
        logger.warning("health: the database is unreachable", exc_info=True)
        return False
    return True


def healthz(request):
    """Liveness and database reachability, for load balancers. When the database is down it
    says so without naming it (no host, no driver message)."""
    if not _database_ok():
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def readyz(request):
    """Whether this process can serve: 200, or 503 when something it needs is down.

    Checks the database; Redis when ``REDIS_URL`` is set; and, in the scaled mode (the feed
    runs in its own process), that a feed holds the lease and renewed it in time
    (with its pid, host and heartbeat age).
    """
    checks: dict[str, dict] = {"database": {"ok": _database_ok()}}
    if settings.REDIS_URL:
        from live.factories import redis_sync_client

        try:
            redis_ok = bool(redis_sync_client().ping())
        except Exception:
            logger.warning("health: Redis is unreachable", exc_info=True)
            redis_ok = False
        checks["redis"] = {"ok": redis_ok}
        if not settings.FEED_IN_PROCESS:
            from live.lease import feed_leader_status

            feed = {"ok": False, "pid": None, "host": None, "heartbeat_age_s": None}
            if redis_ok:
                try:
                    feed = feed_leader_status()
                except Exception:
                    logger.warning("health: cannot read the feed lease", exc_info=True)
            checks["feed"] = feed
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503
    )
