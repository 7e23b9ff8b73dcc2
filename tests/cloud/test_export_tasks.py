"""The daily export and analysis as Celery tasks: queued by ``export_trades --enqueue`` and
``POST /api/exports/`` onto a real (private) Redis broker, run in-process here; the worker and
beat against real servers are in ``tests/algo/test_worker_faults.py``."""

from __future__ import annotations

import base64
import io
import json
from datetime import date

import pytest
import redis
from django.core.management import CommandError, call_command

from tests.algo.test_tasks import reset_producers
from tests.support.servers import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(settings, private_redis: RedisServer):
    from config.celery import app

    settings.REDIS_URL = private_redis.url
    reset_producers(app)
    app.conf.broker_url = private_redis.url
    yield redis.Redis.from_url(private_redis.url)
    reset_producers(app)
    app.conf.broker_url = settings.CELERY_BROKER_URL


def queued_tasks(client) -> list[tuple[str, list, list]]:
    """(task, args, names of the tasks chained after it) of each message in the queue."""
    out = []
    for raw in reversed(client.lrange("celery", 0, -1)):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        args, _, options = body
        chained = [link["task"] for link in (options.get("chain") or [])]
        out.append((message["headers"]["task"], args, chained))
    return out


def test_export_trades_enqueue_queues_each_days_export_then_its_analysis(broker):
    out = io.StringIO()
    call_command(
        "export_trades", "--enqueue", "--start", "2025-01-20", "--end", "2025-01-21", stdout=out
    )
    assert queued_tasks(broker) == [
        ("cloud.export_day", ["2025-01-20"], ["cloud.analyse_day"]),
        ("cloud.export_day", ["2025-01-21"], ["cloud.analyse_day"]),
    ]
    assert "2025-01-20  export queued, then its analysis" in out.getvalue()


def test_export_trades_enqueue_needs_a_broker(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="--enqueue needs the Celery worker's broker"):
        call_command("export_trades", "--enqueue", "--date", "2025-01-20", stdout=io.StringIO())


def test_export_trades_enqueue_says_when_the_broker_is_down(broker, private_redis):
    private_redis.kill()
    with pytest.raises(CommandError, match="could not queue the export of 2025-01-20"):
        call_command("export_trades", "--enqueue", "--date", "2025-01-20", stdout=io.StringIO())


def test_staff_queue_an_export_through_the_api(api, broker):
    assert api.post("/api/exports/", {"date": "2025-01-20"}, format="json").status_code == 403
    api.user.is_staff = True
    api.user.save()
    response = api.post("/api/exports/", {"date": "2025-01-20", "analyse": False}, format="json")
    assert response.status_code == 202
    assert response.json()["date"] == "2025-01-20" and response.json()["task_id"]
    assert queued_tasks(broker) == [("cloud.export_day", ["2025-01-20"], [])]
    bad = api.post("/api/exports/", {"date": "2025-13-01"}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["date"]


def test_the_export_api_is_a_503_without_a_broker(api, settings):
    settings.REDIS_URL = ""
    api.user.is_staff = True
    api.user.save()
    response = api.post("/api/exports/", {"date": "2025-01-20"}, format="json")
    assert response.status_code == 503 and response.json()["component"] == "broker"
    assert response.json()["date"] == "2025-01-20"
    assert int(response["Retry-After"]) == settings.OUTAGE_RETRY_AFTER_SECONDS


def test_the_previous_utc_day_is_the_one_exported():
    from cloud.tasks import previous_utc_day

    assert previous_utc_day(date(2025, 3, 1)) == date(2025, 2, 28)
