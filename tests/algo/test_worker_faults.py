"""The background worker against real servers: a private ``redis-server`` as the broker and
real ``celery worker`` processes (the Procfile's solo pool) on the PostgreSQL test database. Workers are killed with
SIGKILL (their whole process group), the broker is killed and restarted on the same port.

Skipped without ``redis-server`` (failed under ``TRADEPULSE_REQUIRE_SERVICES=1``); needs
PostgreSQL, which a worker process shares with the test (``make test-postgres``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from algo.models import BacktestRun
from tests.algo.test_tasks import reset_producers
from tests.support.servers import ManagedProcess, RedisServer
from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Short limits so that a dead worker's run comes back within the test; a run of LARGE bars
# takes about a second on this machine, far below the time limit.
TIME_LIMIT = 10
VISIBILITY_TIMEOUT = 16
LARGE = 1_000_000


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(redis: RedisServer, name: str, **env: str) -> ManagedProcess:
    from django.conf import settings

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "DB_POOL": "0",
        "REDIS_URL": redis.url,
        "ALGO_DATA_DIR": str(settings.ALGO_DATA_DIR),
        "BACKTEST_TIME_LIMIT": str(TIME_LIMIT),
        "BACKTEST_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        **env,
    }
    environment.pop("PYTHONPYCACHEPREFIX", None)
    # The Procfile's worker: the solo pool, one task at a time in the worker process itself.
    args = ["-m", "celery", "-A", "config", "worker", "--pool=solo"]
    args += ["--loglevel=INFO", "-n", f"{name}@%h"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    worker = ManagedProcess(args, environment, name)
    worker.wait_for_output("ready.", timeout=60)
    return worker


@contextlib.contextmanager
def broker(settings, redis: RedisServer):
    """This process queues through the private Redis (a small run is queued too)."""
    from config.celery import app

    settings.REDIS_URL = redis.url
    settings.BACKTEST_INLINE_MAX_BARS = 100
    reset_producers(app)
    app.conf.broker_url = redis.url
    try:
        yield app
    finally:
        reset_producers(app)
        app.conf.broker_url = settings.CELERY_BROKER_URL


def wait_for_status(run_id: int, wanted: set[str], *, timeout: float, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = BacktestRun.objects.get(pk=run_id)
        if run.status in wanted:
            return run
        time.sleep(poll)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout} s")


def queue(api, bars: int, seed: int = 0) -> int:
    response = api.post(
        "/api/backtests/",
        {"synthetic": bars, "seed": seed, "freq": "1min", "fast": 10, "slow": 40},
        format="json",
    )
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def test_a_run_whose_worker_is_killed_mid_run_is_run_again(api, settings, private_redis):
    with broker(settings, private_redis):
        first = start_worker(private_redis, "first")
        try:
            run_id = queue(api, LARGE)
            wait_for_status(run_id, {"running"}, timeout=60, poll=0.005)
            first.kill_group()
        finally:
            first.stop()
        killed = BacktestRun.objects.get(pk=run_id)
        assert killed.status == "running" and killed.attempts == 1 and killed.stats is None

        second = start_worker(private_redis, "second")
        try:
            # Delivered again once the visibility timeout passed (workers sweep every second
            # at this timeout), then run in about a second.
            run = wait_for_status(run_id, {"done", "failed"}, timeout=VISIBILITY_TIMEOUT + 60)
        finally:
            second.stop()
    assert run.status == "done", run.error
    assert run.attempts == 2
    expected = backtest(synthetic_bars(LARGE, freq="1min"), MovingAverageCrossover(10, 40))
    assert run.stats == expected.to_json_dict()


def test_a_run_is_failed_when_the_broker_is_down_and_queued_once_it_is_back(
    api, settings, private_redis
):
    with broker(settings, private_redis) as app:
        private_redis.kill()
        response = api.post("/api/backtests/", {"synthetic": 300}, format="json")
        assert response.status_code == 503
        assert response.json()["component"] == "broker"
        assert response["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
        run = BacktestRun.objects.get(pk=response.json()["run"])
        assert run.status == "failed" and "broker is unavailable" in run.error

        private_redis.start()  # on the same port
        reset_producers(app)  # a new connection to the server that came back
        run_id = queue(api, 300)
        assert BacktestRun.objects.get(pk=run_id).task_id


def test_a_queued_run_whose_task_the_broker_lost_is_failed_by_the_reaper(
    api, settings, private_redis
):
    from algo.tasks import reap_backtests

    settings.BACKTEST_VISIBILITY_TIMEOUT = 100
    with broker(settings, private_redis) as app:
        # No worker: both runs wait in the broker's queue, one of them for a long time.
        waiting, fresh, unsent = queue(api, 300), queue(api, 300), queue(api, 300)
        long_ago = datetime.now(UTC) - timedelta(seconds=101)
        BacktestRun.objects.filter(pk__in=[waiting, unsent]).update(created_at=long_ago)
        # A run whose process stopped between storing it and sending its task.
        BacktestRun.objects.filter(pk=unsent).update(task_id="")
        assert reap_backtests() == 1
        assert BacktestRun.objects.get(pk=unsent).status == "failed"
        # The other's task is in the broker: a worker will take it.
        assert BacktestRun.objects.get(pk=waiting).status == "queued"

        private_redis.kill()
        assert reap_backtests() == 0  # the broker cannot be read: nothing is decided
        # Back without its data (no persistence): the tasks are gone.
        private_redis.start()
        reset_producers(app)
        assert reap_backtests() == 1
    run = BacktestRun.objects.get(pk=waiting)
    assert run.status == "failed" and "lost by the broker" in run.error
    # Younger than the visibility timeout: left for now.
    assert BacktestRun.objects.get(pk=fresh).status == "queued"


def test_cancel_stops_a_running_run_and_the_worker_skips_a_cancelled_queued_one(
    api, settings, private_redis
):
    with broker(settings, private_redis):
        worker = start_worker(private_redis, "canceller")
        try:
            running = queue(api, LARGE, seed=1)
            waiting = queue(api, LARGE, seed=2)
            last = queue(api, 300)
            wait_for_status(running, {"running"}, timeout=60, poll=0.005)
            for run_id in (running, waiting):
                response = api.delete(f"/api/backtests/{run_id}/")
                assert response.status_code == 200
                assert response.json()["status"] == "cancelled"
            # The worker takes runs one at a time: once the last is done, it is past both.
            assert wait_for_status(last, {"done", "failed"}, timeout=120).status == "done"
        finally:
            worker.stop()
    for run_id in (running, waiting):
        run = BacktestRun.objects.get(pk=run_id)
        assert run.status == "cancelled" and run.stats is None
    assert BacktestRun.objects.get(pk=waiting).attempts == 0


def test_beat_schedules_the_export_at_the_configured_utc_time():
    script = (
        "from config.celery import app; s = app.conf.beat_schedule['export-previous-day']; "
        "print(s['task'], sorted(s['schedule'].hour), sorted(s['schedule'].minute), "
        "app.conf.timezone)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "EXPORT_SCHEDULE": "03:45"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["cloud.export_previous_day", "[3]", "[45]", "UTC"]


def test_the_daily_task_exports_yesterday_then_analyses_it_on_the_worker(
    api, settings, private_redis, tmp_path
):
    from cloud.tasks import export_previous_day
    from ledger.models import Trade

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    for ticker, side in (("AAPL", "buy"), ("AAPL", "sell"), ("MSFT", "buy")):
        Trade.objects.create(
            owner=api.user,
            ticker=ticker,
            side=side,
            price=Decimal("100.5"),
            quantity=Decimal(2),
            timestamp=noon,
        )
    exports = tmp_path / "exports"
    with broker(settings, private_redis):
        worker = start_worker(
            private_redis,
            "exporter",
            TRADES_EXPORT_URL=exports.as_uri(),
            TRADE_ANALYSIS_BACKEND="local",
        )
        try:
            export_previous_day.delay()  # what beat sends at EXPORT_SCHEDULE
            analysis = exports / f"analysis/{yesterday:%Y/%m/%d}/analysis.json"
            deadline = time.monotonic() + 90
            while not analysis.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            log = worker.output()
        finally:
            worker.stop()
    assert (exports / f"{yesterday:%Y/%m/%d}/trades.csv").exists(), log[-2000:]
    result = json.loads(analysis.read_text())
    assert result["totals"]["trade_count"] == 3
    assert set(result["tickers"]) == {"AAPL", "MSFT"}
