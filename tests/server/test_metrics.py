"""/metrics: the Prometheus text format, adding up every worker process, not public."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import ServedApp, base_env, manage


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


@pytest.mark.slow
def test_counts_of_two_worker_processes_add_up(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = base_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), THROTTLE_ANON="100000/min")
    manage(env, "migrate", "--noinput")
    app = ServedApp(env, tmp_path / "uvicorn.log", workers=2).start()
    try:
        status, headers, before = app.request("GET", "/metrics")
        assert status == 200
        assert headers["content-type"].startswith("text/plain; version=")
        before = before.decode()

        statuses = []

        def client():
            for _ in range(25):
                statuses.append(app.request("GET", "/healthz")[0])
                statuses.append(app.request("GET", "/api/trades/")[0])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(set(statuses)) == [200, 401]
        after = app.request("GET", "/metrics")[2].decode()
        # Both workers wrote metrics files; /metrics adds them up.
        assert len({p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}) >= 2
        total = "tradepulse_http_requests_total"
        healthz = {"view": "healthz", "method": "GET", "status": "200"}
        assert sample(after, total, **healthz) - sample(before, total, **healthz) == 200
        trades = {"view": "trade-list", "method": "GET", "status": "401"}
        assert sample(after, total, **trades) - sample(before, total, **trades) == 200
        count = "tradepulse_http_request_duration_seconds_count"
        assert (
            sample(after, count, view="healthz", method="GET")
            - sample(before, count, view="healthz", method="GET")
            == 200
        )
        assert sample(after, total, view="metrics", method="GET", status="200") >= 1
    finally:
        app.stop()


@pytest.mark.django_db
def test_metrics_are_for_this_machine_only_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.json()["detail"]


@pytest.mark.django_db
def test_metrics_want_the_bearer_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", REMOTE_ADDR="203.0.113.9")
    assert wrong.status_code == 403
    right = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", REMOTE_ADDR="203.0.113.9"
    )
    assert right.status_code == 200
    assert b"tradepulse_http_requests_total" in right.content


def test_live_gauges_of_a_dead_process_are_dropped(tmp_path, settings, rf):
    import subprocess
    import sys

    from config.metrics import metrics_view

    settings.METRICS_TOKEN = ""
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    # A process that set a live gauge and died without saying so.
    code = (
        "from prometheus_client import Gauge\n"
        "Gauge('tradepulse_test_clients', 'clients', multiprocess_mode='livesum').set(7)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(tmp_path.glob("gauge_livesum_*.db"))
    response = metrics_view(rf.get("/metrics", REMOTE_ADDR="127.0.0.1"))
    assert response.status_code == 200
    assert sample(response.content.decode(), "tradepulse_test_clients") == 0
    assert not list(tmp_path.glob("gauge_livesum_*.db"))
