"""Fixtures of the algo app: a private data folder, inline backtests, and the Redis marker's
skip logic."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 2):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item):
    if "redis" not in item.keywords or _redis_reachable(redis_url()):
        return
    message = (
        f"Redis is not reachable at {redis_url()} (set TEST_REDIS_URL or start it with: "
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no)'
    )
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; required because TRADEPULSE_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _algo_settings(settings, tmp_path):
    """Runs and plots go to a folder of the test's own; every backtest runs inline."""
    settings.ALGO_DATA_DIR = tmp_path / "algo"
    settings.REDIS_URL = ""
    settings.PAPER_REFRESH_SECONDS = 3600.0


@pytest.fixture
def offline_yahoo(monkeypatch):
    """yfinance with no network: every history request fails as it does offline."""
    import yfinance

    def history(self, *args, **kwargs):
        raise ConnectionError(
            "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com"
        )

    monkeypatch.setattr(yfinance.Ticker, "history", history)
