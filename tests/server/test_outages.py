"""Outages of PostgreSQL and Redis are 503s naming the component, never 500s, against a served
uvicorn process and private servers that the tests restart and kill."""

from __future__ import annotations

import http.client
import json
import threading
import time

import psycopg
import pytest

from tests.support.servers import ServedApp, base_env, serving

pytestmark = pytest.mark.slow

CLIENTS = 4
TRADES_PER_CLIENT = 40


def post_until_stored(app: ServedApp, token: str, key: str, body: dict, seen: list) -> dict:
    """POST with an Idempotency-Key, retrying on 503, 409 and dropped connections."""
    payload = json.dumps(body)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    for _ in range(600):
        try:
            status, response_headers, raw = app.request(
                "POST", "/api/trades/", body=payload, headers=headers, timeout=30
            )
        except (OSError, http.client.HTTPException):
            seen.append("dropped")
            time.sleep(0.05)
            continue
        seen.append(status)
        if status in (200, 201):
            return json.loads(raw)
        if status == 503:
            assert response_headers.get("retry-after"), response_headers
            assert json.loads(raw)["component"] == "database", raw
        elif status != 409:
            raise AssertionError(f"unexpected {status}: {raw[:500]!r}")
        time.sleep(0.05)
    raise AssertionError(f"{key} never stored")


@pytest.fixture
def served_on_private_postgres(tmp_path, private_postgres):
    env = base_env(tmp_path, DATABASE_URL=private_postgres.url, DB_POOL_MAX_SIZE="4")
    with serving(env, tmp_path / "uvicorn.log") as app:
        yield app


def test_postgres_restart_under_retried_posts_loses_and_duplicates_nothing(
    served_on_private_postgres, private_postgres
):
    app = served_on_private_postgres
    statuses: list = []
    failures: list = []
    progress = [0] * CLIENTS

    def client(n: int) -> None:
        try:
            for i in range(TRADES_PER_CLIENT):
                body = {
                    "ticker": "AAPL",
                    "side": "buy",
                    "price": "101.25",
                    "quantity": str(n * 1000 + i + 1),
                }
                post_until_stored(app, app.token, f"client-{n}-trade-{i}", body, statuses)
                progress[n] = i + 1
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for restart in range(2):
        # Restart while the clients are busy: each restart falls in the middle of their work.
        while sum(progress) < (restart + 1) * CLIENTS * TRADES_PER_CLIENT // 3 and not failures:
            time.sleep(0.02)
        private_postgres.restart()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[0]
    assert 500 not in statuses

    with psycopg.connect(private_postgres.url) as conn:
        quantities = [
            int(row[0]) for row in conn.execute("SELECT quantity FROM ledger_trade").fetchall()
        ]
    expected = sorted(n * 1000 + i + 1 for n in range(CLIENTS) for i in range(TRADES_PER_CLIENT))
    assert sorted(quantities) == expected  # 0 lost, 0 duplicated
    assert app.alive()


def test_redis_killed_api_answers_or_says_503_never_500(tmp_path, private_redis):
    env = base_env(tmp_path, REDIS_URL=private_redis.url)
    with serving(env, tmp_path / "uvicorn.log") as app:
        check_redis_outage(app, private_redis)


def check_redis_outage(app: ServedApp, private_redis) -> None:
    auth = {"Authorization": f"Token {app.token}", "Content-Type": "application/json"}
    trade = json.dumps({"ticker": "MSFT", "side": "sell", "price": "10", "quantity": "2"})
    requests = [
        ("GET", "/api/trades/", None, auth),
        ("POST", "/api/trades/", trade, auth),
        ("GET", "/api/positions/", None, auth),
        ("GET", "/api/alerts/", None, auth),
        ("GET", "/api/trades/", None, {}),  # anonymous: the anonymous throttle, then 401
        ("GET", "/healthz", None, {}),
    ]
    before = [app.request(*r)[0] for r in requests]
    assert before[:2] == [200, 201]
    private_redis.kill()
    during = []
    for _ in range(3):
        for method, path, body, headers in requests:
            status, response_headers, raw = app.request(method, path, body, headers)
            during.append((path, status))
            assert status != 500, raw[:1000]
            assert status < 500 or status == 503, raw[:1000]
            if status == 503:
                assert response_headers.get("retry-after")
                assert json.loads(raw)["component"] == "redis"
    # The throttles fail open: the ledger keeps working without its cache.
    assert ("/api/trades/", 200) in during
    assert ("/api/trades/", 201) in during
    assert ("/api/trades/", 401) in during
    assert "throttle cache unavailable" in app.log()
    assert app.alive()
