"""Token checks remembered by a served process on PostgreSQL (``api.token_cache``): a token
revoked or a user deactivated anywhere stops working at once, and nothing changed while the
process could not listen is remembered. A private PostgreSQL cluster, restarted by one test."""

from __future__ import annotations

import json
import os
import signal
import time

import psycopg
import pytest

from tests.support.servers import base_env, manage, serving, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def app(tmp_path, private_postgres):
    env = base_env(tmp_path, DATABASE_URL=private_postgres.url, API_TOKEN_CACHE_SECONDS="60")
    with serving(env, tmp_path / "uvicorn.log") as served:
        served.env = env
        yield served


def warm(app) -> None:
    """One check starts the process's listener; once it listens, the next check is kept."""
    assert status(app, app.token) == 200
    assert wait_until(lambda: "token cache: listening" in app.log(), timeout=10), app.log()[-2000:]
    assert status(app, app.token) == 200


def status(app, token: str) -> int:
    return app.request("GET", "/api/trades/", headers={"Authorization": f"Token {token}"})[0]


def change_silently(url: str, sql: str) -> None:
    """Run ``sql`` with triggers off (as a replica applies changes): no notice is sent."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql)


def first_status_within(app, token: str, seconds: float, wanted: int) -> tuple[int, float]:
    start = time.monotonic()
    while True:
        found = status(app, token)
        elapsed = time.monotonic() - start
        if found == wanted or elapsed > seconds:
            return found, elapsed
        time.sleep(0.01)


def test_a_token_check_is_remembered_until_the_database_says_tokens_changed(app, private_postgres):
    warm(app)
    # Deleted without a notice: the process still accepts what it remembered, which shows
    # that the check did not query the database ...
    change_silently(private_postgres.url, "DELETE FROM knox_authtoken")
    assert [status(app, app.token) for _ in range(3)] == [200, 200, 200]
    # ... and any change to the tokens, here an unrelated one, makes it forget.
    other = manage(app.env, "create_api_token", "bob").split()[-1]
    with psycopg.connect(private_postgres.url, autocommit=True) as conn:
        conn.execute("UPDATE knox_authtoken SET expiry = expiry")
    assert first_status_within(app, app.token, 2, 401)[0] == 401
    assert status(app, other) == 200


def test_a_token_revoked_by_another_process_stops_working(app):
    warm(app)
    manage(app.env, "revoke_api_tokens", "--key", app.token)
    found, elapsed = first_status_within(app, app.token, 2, 401)
    assert found == 401, f"still {found} {elapsed:.2f} s after the revocation"


def test_a_deactivated_user_is_refused(app, private_postgres):
    warm(app)
    with psycopg.connect(private_postgres.url, autocommit=True) as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE username = 'alice'")
    found, _ = first_status_within(app, app.token, 2, 401)
    assert found == 401
    body = json.loads(app.request("GET", "/api/trades/", headers=_auth(app.token))[2])
    assert "inactive" in body["detail"]


def test_logout_through_the_api_takes_effect_on_the_next_request(app):
    warm(app)
    assert app.request("POST", "/api/auth/logout/", headers=_auth(app.token))[0] == 204
    assert status(app, app.token) == 401


def test_nothing_missed_while_not_listening_is_remembered(app, private_postgres):
    warm(app)
    private_postgres.restart()
    # The listener lost its connection: a change without a notice, made as soon as the
    # database is back, is seen at once.
    change_silently(private_postgres.url, "DELETE FROM knox_authtoken")
    statuses = [status(app, app.token) for _ in range(5)]
    assert 200 not in statuses, statuses
    assert set(statuses) <= {401, 503}, statuses
    assert first_status_within(app, app.token, 10, 401)[0] == 401


def test_an_entry_is_kept_no_longer_than_the_setting(tmp_path, private_postgres):
    env = base_env(tmp_path, DATABASE_URL=private_postgres.url, API_TOKEN_CACHE_SECONDS="1")
    with serving(env, tmp_path / "uvicorn.log") as served:
        warm(served)
        change_silently(private_postgres.url, "DELETE FROM knox_authtoken")
        assert status(served, served.token) == 200
        time.sleep(1.2)
        assert status(served, served.token) == 401


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def test_an_expired_token_is_refused_from_the_cache(app, private_postgres):
    warm(app)
    with psycopg.connect(private_postgres.url, autocommit=True) as conn:
        conn.execute("UPDATE knox_authtoken SET expiry = now() + interval '3 seconds'")
    changed = time.monotonic()
    time.sleep(0.3)
    assert status(app, app.token) == 200  # read again, with its new expiry, and kept
    time.sleep(max(0.0, changed + 3.5 - time.monotonic()))
    assert status(app, app.token) == 401


def test_truncating_the_tokens_revokes_them(app, private_postgres):
    warm(app)
    with psycopg.connect(private_postgres.url, autocommit=True) as conn:
        conn.execute("TRUNCATE knox_authtoken")
    assert first_status_within(app, app.token, 2, 401)[0] == 401


def test_a_hung_listening_connection_turns_the_cache_off(app, private_postgres):
    warm(app)
    with psycopg.connect(private_postgres.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'tradepulse token cache'"
        ).fetchone()
    assert row, "no listening connection"
    os.kill(row[0], signal.SIGSTOP)  # its backend stops answering, the socket stays open
    try:
        manage(app.env, "revoke_api_tokens", "--key", app.token)
        found, elapsed = first_status_within(app, app.token, 8, 401)
        assert found == 401, f"still {found} {elapsed:.1f} s after the revocation"
    finally:
        os.kill(row[0], signal.SIGCONT)
