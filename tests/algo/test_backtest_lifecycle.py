"""A backtest's life outside the happy path: retried POSTs, the per-user cap, a broker that is
down, cancelling, a worker that died, and bars built by the worker."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from algo.models import BacktestRun, PaperSession
from tests.algo.test_paper_trading import PARAMS
from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings, monkeypatch):
    """Runs above 100 bars are queued; the broker accepts them and nothing runs them."""
    from algo import tasks

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.BACKTEST_INLINE_MAX_BARS = 100
    sent: list[int] = []
    monkeypatch.setattr(tasks.run_backtest, "delay", lambda run_id: sent.append(run_id))
    return sent


def post_run(api, payload=None, **headers):
    return api.post("/api/backtests/", payload or {"synthetic": 300}, format="json", **headers)


def test_a_retried_backtest_post_with_its_idempotency_key_starts_one_run(api):
    first = post_run(api, HTTP_IDEMPOTENCY_KEY="bt-1")
    again = post_run(api, HTTP_IDEMPOTENCY_KEY="bt-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert BacktestRun.objects.count() == 1
    other = post_run(api, {"synthetic": 400}, HTTP_IDEMPOTENCY_KEY="bt-1")
    assert other.status_code == 422
    assert BacktestRun.objects.count() == 1


def test_an_upload_is_fingerprinted_by_its_content(api):
    def upload(seed):
        buffer = io.BytesIO(synthetic_bars(120, seed=seed).to_csv().encode())
        buffer.name = "bars.csv"
        return {"file": buffer, "fast": 5, "slow": 20}

    first = api.post("/api/backtests/", upload(1), format="multipart", HTTP_IDEMPOTENCY_KEY="f")
    assert first.status_code == 201, first.json()
    same = api.post("/api/backtests/", upload(1), format="multipart", HTTP_IDEMPOTENCY_KEY="f")
    assert same.status_code == 201 and same["Idempotent-Replayed"] == "true"
    changed = api.post("/api/backtests/", upload(2), format="multipart", HTTP_IDEMPOTENCY_KEY="f")
    assert changed.status_code == 422
    assert BacktestRun.objects.count() == 1


def test_a_retried_paper_session_post_with_its_idempotency_key_starts_one_session(api):
    first = api.post("/api/paper-sessions/", PARAMS, format="json", HTTP_IDEMPOTENCY_KEY="p")
    again = api.post("/api/paper-sessions/", PARAMS, format="json", HTTP_IDEMPOTENCY_KEY="p")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert PaperSession.objects.count() == 1


def test_concurrent_backtests_per_user_are_capped(api, other_api, settings, queued):
    settings.BACKTEST_MAX_ACTIVE_PER_USER = 2
    ids = [post_run(api).json()["id"] for _ in range(2)]
    refused = post_run(api)
    assert refused.status_code == 429
    assert "at most 2 at once" in refused.json()["detail"]
    assert BacktestRun.objects.filter(owner=api.user).count() == 2
    # Another user has a cap of their own; an inline run is not held back by queued ones.
    assert post_run(other_api).status_code == 202
    assert api.delete(f"/api/backtests/{ids[0]}/").status_code == 200
    assert post_run(api).status_code == 202


def test_cancel_ends_a_queued_run_and_the_worker_then_skips_it(api, other_api, queued):
    from algo.tasks import run_backtest

    run_id = post_run(api).json()["id"]
    assert other_api.delete(f"/api/backtests/{run_id}/").status_code == 404
    response = api.delete(f"/api/backtests/{run_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]
    assert run_backtest(run_id) == "cancelled"
    again = api.delete(f"/api/backtests/{run_id}/")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def test_a_finished_run_cannot_be_cancelled(api):
    run_id = post_run(api).json()["id"]
    response = api.delete(f"/api/backtests/{run_id}/")
    assert response.status_code == 409
    assert BacktestRun.objects.get(pk=run_id).status == "done"


def test_a_run_whose_worker_died_runs_again_once_then_fails(api, settings, queued):
    from algo.tasks import run_backtest

    settings.BACKTEST_MAX_ATTEMPTS = 2
    run_id = post_run(api).json()["id"]
    # A worker took it up and died: the broker delivers the same task again.
    BacktestRun.objects.filter(pk=run_id).update(status="running", attempts=1)
    assert run_backtest(run_id) == "done"
    run = BacktestRun.objects.get(pk=run_id)
    assert run.attempts == 2
    assert run.stats == backtest(synthetic_bars(300), MovingAverageCrossover()).to_json_dict()

    second = post_run(api).json()["id"]
    BacktestRun.objects.filter(pk=second).update(status="running", attempts=2)
    assert run_backtest(second) == "failed"
    assert "worker running it stopped (2 attempts)" in BacktestRun.objects.get(pk=second).error


def test_the_reaper_fails_runs_that_were_never_delivered_again(api, settings, queued):
    from algo.tasks import reap_backtests

    settings.BACKTEST_VISIBILITY_TIMEOUT = 100
    settings.BACKTEST_REAPER_INTERVAL = 10
    stale, fresh = post_run(api).json()["id"], post_run(api).json()["id"]
    now = timezone.now()
    BacktestRun.objects.filter(pk=stale).update(
        status="running", attempts=1, started_at=now - timedelta(seconds=111)
    )
    BacktestRun.objects.filter(pk=fresh).update(
        status="running", attempts=1, started_at=now - timedelta(seconds=60)
    )
    assert reap_backtests() == 1
    body = api.get(f"/api/backtests/{stale}/").json()
    assert body["status"] == "failed" and "not delivered again within 110 s" in body["error"]
    assert BacktestRun.objects.get(pk=fresh).status == "running"


def test_a_large_csv_is_read_by_the_worker_with_the_same_messages(api, queued):
    from algo.tasks import run_backtest

    good = io.BytesIO(synthetic_bars(300, seed=3).to_csv().encode())
    good.name = "big.csv"
    response = api.post("/api/backtests/", {"file": good}, format="multipart")
    assert response.status_code == 202 and response.json()["bars"] == 300
    assert run_backtest(response.json()["id"]) == "done"
    expected = backtest(synthetic_bars(300, seed=3), MovingAverageCrossover())
    done = BacktestRun.objects.get(pk=response.json()["id"])
    assert done.stats["trades"] == expected.stats["trades"]

    rows = "".join(f"2024-01-{1 + i % 28:02d},1,2,0.5,1.5\n" for i in range(150))
    bad = io.BytesIO(("Date,Open,High,Low,Close\n" + rows).encode())
    bad.name = "mine.csv"
    response = api.post("/api/backtests/", {"file": bad}, format="multipart")
    assert response.status_code == 202
    assert run_backtest(response.json()["id"]) == "failed"
    error = BacktestRun.objects.get(pk=response.json()["id"]).error
    assert error.startswith("mine.csv: row 29") and "not in ascending order" in error


def test_a_large_ticker_run_is_downloaded_by_the_worker_not_in_the_request(
    api, queued, monkeypatch
):
    import yfinance

    from algo.tasks import run_backtest
    from tests.algo.test_backtests_api import engine_result

    bars = synthetic_bars(260, seed=12)
    downloads: list[tuple] = []

    def history(self, **kwargs):
        downloads.append((self.ticker, kwargs["period"], kwargs["interval"]))
        return bars.copy()

    monkeypatch.setattr(yfinance.Ticker, "history", history)
    # A year of daily bars may be more than the 100 run inline: queued, nothing downloaded.
    response = api.post("/api/backtests/", {"ticker": "msft", "fast": 5, "slow": 20}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    run_id = response.json()["id"]
    assert downloads == []

    assert run_backtest(run_id) == "done"
    assert downloads == [("MSFT", "1y", "1d")]
    body = api.get(f"/api/backtests/{run_id}/").json()
    assert body["bars"] == 260 and body["stats"] == engine_result(bars).to_json_dict()
    # The downloaded bars are kept: the plot does not download again.
    assert api.get(f"/api/backtests/{run_id}/plot.html").status_code == 200
    assert len(downloads) == 1

    # A month of daily bars is at most 32: still run inside the request.
    small = {"ticker": "msft", "period": "1mo", "fast": 5, "slow": 20}
    response = api.post("/api/backtests/", small, format="json")
    assert response.status_code == 201 and response.json()["status"] == "done"
    assert len(downloads) == 2


def test_a_queued_ticker_that_yahoo_does_not_deliver_fails_the_run_with_the_reason(
    api, queued, offline_yahoo
):
    from algo.tasks import run_backtest

    response = api.post("/api/backtests/", {"ticker": "aapl"}, format="json")
    assert response.status_code == 202
    assert run_backtest(response.json()["id"]) == "failed"
    body = api.get(f"/api/backtests/{response.json()['id']}/").json()
    assert body["error"].startswith("could not download AAPL from Yahoo Finance")


@pytest.mark.django_db(transaction=True)
def test_a_run_the_broker_cannot_take_is_failed_and_answered_503(api, settings):
    from config.celery import app
    from tests.algo.test_tasks import reset_producers

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.BACKTEST_INLINE_MAX_BARS = 100
    reset_producers(app)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = post_run(api, HTTP_IDEMPOTENCY_KEY="down")
    finally:
        reset_producers(app)
        app.conf.broker_url = settings.CELERY_BROKER_URL
    assert response.status_code == 503
    # The same answer as every outage: when to come back, and which component is down.
    assert response["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["component"] == "broker"
    run = BacktestRun.objects.get(pk=body["run"])
    assert run.status == "failed" and "broker is unavailable" in run.error
    # The key was released: a retry once the broker is back starts a new run.
    settings.REDIS_URL = ""
    retry = post_run(api, HTTP_IDEMPOTENCY_KEY="down")
    assert retry.status_code == 201 and retry.json()["id"] != run.pk


def test_task_outcomes_are_counted(api, queued):
    from prometheus_client import REGISTRY

    from algo.tasks import run_backtest

    labels = {"task": "algo.run_backtest", "outcome": "success"}
    before = REGISTRY.get_sample_value("tradepulse_celery_tasks_total", labels) or 0
    run_id = post_run(api).json()["id"]
    assert run_backtest.apply(args=(run_id,)).get() == "done"
    assert REGISTRY.get_sample_value("tradepulse_celery_tasks_total", labels) == before + 1
