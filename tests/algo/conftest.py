"""Fixtures of the algo app: a private data folder, inline backtests, and the Redis marker's
skip logic."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _algo_settings(settings, tmp_path):
    """Runs and plots go to a folder of the test's own; every backtest runs inline."""
    settings.ALGO_DATA_DIR = tmp_path / "algo"
    settings.REDIS_URL = ""
    settings.PAPER_REFRESH_SECONDS = 3600.0
    # These tests run feeds of their own: a session they store must not also start the
    # process's in-process feed (which it would, to give the session ticks at once).
    settings.FEED_IN_PROCESS = False


@pytest.fixture
def offline_yahoo(monkeypatch):
    """yfinance with no network: every history request fails as it does offline."""
    import yfinance

    def history(self, *args, **kwargs):
        raise ConnectionError(
            "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com"
        )

    monkeypatch.setattr(yfinance.Ticker, "history", history)
