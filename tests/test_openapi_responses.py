"""The response check every test runs (``tests.support.openapi``) does check."""

from __future__ import annotations

import json

from tests.support import openapi

TRADE = {
    "id": 1,
    "ticker": "AAPL",
    "side": "buy",
    "price": "187.25",
    "quantity": "10",
    "timestamp": "2025-01-20T14:30:00.000000Z",
    "source": "api",
    "created_at": "2025-01-20T14:30:00.000000Z",
    "updated_at": "2025-01-20T14:30:00.000000Z",
}


def _check(path: str, body, status: int = 200, method: str = "GET"):
    return openapi.check(method, path, status, "application/json", json.dumps(body).encode())


def test_a_conforming_trade_passes_and_a_drifted_one_fails():
    assert _check("/api/trades/7/", TRADE) is None
    assert _check("/api/trades/", {"next": None, "previous": None, "results": [TRADE]}) is None
    problem = _check("/api/trades/7/", {**TRADE, "price": 187.25})
    assert problem is not None and "price" in problem
    assert _check("/api/trades/7/", {k: v for k, v in TRADE.items() if k != "side"}) is not None


def test_the_backtest_list_declares_what_it_sends():
    run = {
        "id": 1,
        "url": "http://testserver/api/backtests/1/",
        "status": "done",
        "params": {},
        "data": {},
        "bars": 10,
        "created_at": "2025-01-20T14:30:00.000000Z",
        "finished_at": None,
        "return_pct": 1.5,
        "sharpe_ratio": None,
    }
    assert _check("/api/backtests/", {"next": None, "previous": None, "results": [run]}) is None


def test_undocumented_responses_are_left_alone():
    assert _check("/api/trades/7/", {"detail": "Not found."}, status=404) is None
    assert _check("/healthz", {"anything": 1}) is None
