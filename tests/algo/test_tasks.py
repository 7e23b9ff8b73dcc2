"""The background worker of the scale-out mode: the Celery task, eager and through Redis."""

from __future__ import annotations

import time

import pytest

from algo.models import BacktestRun
from tests.conftest import redis_url
from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars


def reset_producers(app) -> None:
    app.close()
    app.amqp._producer_pool = None


def queue_run(api, settings, **payload):
    settings.REDIS_URL = redis_url()
    settings.BACKTEST_INLINE_MAX_BARS = 100
    response = api.post("/api/backtests/", payload, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


@pytest.mark.django_db
def test_the_task_runs_a_queued_backtest_in_eager_mode(
    api, settings, django_capture_on_commit_callbacks
):
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_id = queue_run(api, settings, synthetic=400, seed=2, fast=5, slow=20)
    finally:
        app.conf.task_always_eager = False
    run = BacktestRun.objects.get(pk=run_id)
    assert run.status == "done" and run.started_at and run.finished_at
    assert (
        run.stats
        == backtest(synthetic_bars(400, seed=2), MovingAverageCrossover(5, 20)).to_json_dict()
    )


@pytest.mark.django_db
def test_a_failing_run_ends_as_failed_with_its_reason(api, settings, monkeypatch):
    from algo import tasks

    monkeypatch.setattr(tasks.run_backtest, "delay", lambda run_id: None)
    run_id = queue_run(api, settings, synthetic=400)
    BacktestRun.objects.filter(pk=run_id).update(
        params={**BacktestRun.objects.get(pk=run_id).params, "cash": -1}
    )
    assert tasks.run_backtest(run_id) == "failed"
    body = api.get(f"/api/backtests/{run_id}/").json()
    assert body["status"] == "failed" and "cash must be a positive number" in body["error"]
    # A redelivered task leaves a finished run alone.
    assert tasks.run_backtest(run_id) == "failed"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_large_run_goes_through_redis_to_a_worker(api, settings):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    url = redis_url()
    reset_producers(app)  # earlier tests may have connected to another broker
    app.conf.broker_url = url
    app.conf.broker_connection_retry_on_startup = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            run_id = queue_run(api, settings, synthetic=3000, seed=6, fast=10, slow=40)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status = BacktestRun.objects.get(pk=run_id).status
                if status in ("done", "failed"):
                    break
                time.sleep(0.1)
    finally:
        reset_producers(app)
        app.conf.broker_url = settings.CELERY_BROKER_URL
    run = BacktestRun.objects.get(pk=run_id)
    assert run.status == "done", run.error
    expected = backtest(synthetic_bars(3000, seed=6), MovingAverageCrossover(10, 40))
    assert run.stats == expected.to_json_dict()
