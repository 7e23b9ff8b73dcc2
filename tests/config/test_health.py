"""``/healthz`` (liveness) and ``/readyz`` (readiness, with the feed lease in the scaled
mode)."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from tests.support.servers import free_port


def test_readyz_in_the_embedded_mode_checks_the_database(client, db, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True}}}


def test_healthz_does_not_name_the_database_host_when_it_is_down(client, db, monkeypatch):
    from django.db import connection

    def down():
        raise OperationalError(
            'connection failed: connection to server at "db.internal.example" (10.0.3.7), '
            "port 5432 failed: Connection refused"
        )

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", down)
        response = client.get("/healthz")
        ready = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}
    assert b"db.internal" not in response.content and b"10.0.3.7" not in response.content
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == {"ok": False}


def test_readyz_is_503_naming_redis_and_the_feed_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.FEED_IN_PROCESS = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": False},
            "feed": {"ok": False, "pid": None, "host": None, "heartbeat_age_s": None},
        },
    }


@pytest.mark.django_db(transaction=True)
async def test_readyz_reports_the_active_feed_and_fails_once_it_stops_renewing(
    async_client, private_redis, settings
):
    import asyncio
    import os
    import socket

    import redis.asyncio
    from asgiref.sync import sync_to_async
    from django.db import connections

    from live.lease import FeedLease

    settings.REDIS_URL = private_redis.url
    settings.FEED_IN_PROCESS = False
    settings.FEED_LEASE_SECONDS = 0.5
    client = redis.asyncio.Redis.from_url(private_redis.url)
    lease = FeedLease(client, ttl=0.5)
    token = await lease.acquire()
    assert token

    response = await async_client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    feed = body["checks"].pop("feed")
    assert body == {"status": "ok", "checks": {"database": {"ok": True}, "redis": {"ok": True}}}
    assert (feed["ok"], feed["pid"], feed["host"]) == (True, os.getpid(), socket.gethostname())
    assert 0 <= feed["heartbeat_age_s"] < 0.5

    await asyncio.sleep(0.7)  # the leader died: nobody renews
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    feed = response.json()["checks"]["feed"]
    assert feed["ok"] is False and feed["pid"] == os.getpid() and feed["heartbeat_age_s"] > 0.5
    await client.aclose()
    # The view ran in asgiref's thread: give its connection back, or it keeps the test
    # database from being dropped.
    await sync_to_async(connections.close_all)()
