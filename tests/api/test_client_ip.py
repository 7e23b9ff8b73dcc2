"""Rate limits count the real client: X-Forwarded-For only counts from trusted proxies."""

import pytest
from django.test import RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from api.client import client_ip


@pytest.fixture
def anon_rate_2(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/min")


def _get(anon, forwarded=None, remote="203.0.113.7"):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return anon.get("/api/trades/", **extra).status_code


def test_rotating_x_forwarded_for_does_not_escape_the_anonymous_throttle(anon, db, anon_rate_2):
    codes = [_get(anon, forwarded=f"198.51.100.{i}") for i in range(4)]
    assert codes == [401, 401, 429, 429]


def test_behind_a_trusted_proxy_each_client_is_counted_apart(anon, db, anon_rate_2, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.5"
    assert [_get(anon, "198.51.100.1", proxy) for _ in range(3)] == [401, 401, 429]
    # A client's own additions stay to the left of what the proxy appended: still that client.
    assert _get(anon, "1.2.3.4, 198.51.100.1", proxy) == 429
    assert _get(anon, "198.51.100.2", proxy) == 401


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.7", "1.1.1.1", "203.0.113.7"),
        (["10.0.0.5"], "203.0.113.7", "1.1.1.1", "203.0.113.7"),
        (["10.0.0.5"], "10.0.0.5", "1.1.1.1", "1.1.1.1"),
        (["10.0.0.5"], "10.0.0.5", None, "10.0.0.5"),
        (["10.0.0.0/8"], "10.0.0.5", "6.6.6.6, 1.1.1.1, 10.0.0.9", "1.1.1.1"),
        (["10.0.0.5"], "10.0.0.5", "not-an-ip", "not-an-ip"),
        (["::1"], "::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_a_bad_trusted_proxy_stops_start_up(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "TRUSTED_PROXIES": "10.0.0.0/33", "SQLITE_PATH": str(tmp_path / "d")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr
