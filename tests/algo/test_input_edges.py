"""Inputs at the edges of their range are a 400 naming the field, never a 500 or a stored
value other than the one sent."""

from __future__ import annotations

import io

import pytest

from algo.models import BacktestRun, PaperSession
from tests.algo.test_paper_trading import PARAMS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"cash": "1e-30"}, "cash"),
        ({"cash": "1e300"}, "cash"),
        ({"cash": "NaN"}, "cash"),
        ({"bar": "99999999999999999999s"}, "bar"),
        ({"quantity": 2**31}, "quantity"),
        ({"commission": "nan"}, "commission"),
    ],
)
def test_paper_session_values_out_of_range_are_refused(api, override, field):
    response = api.post("/api/paper-sessions/", {**PARAMS, **override}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field]
    assert PaperSession.objects.count() == 0


def test_small_and_fractional_cash_is_stored_exactly(api):
    for cash in ("0.00000001", "12345.6789"):
        response = api.post("/api/paper-sessions/", {**PARAMS, "cash": cash}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["initial_cash"] == cash
        assert api.get(response.json()["url"]).status_code == 200


@pytest.mark.parametrize("cash", [1e308, "1e308", "-1e308"])
def test_backtest_cash_out_of_range_is_a_400_and_stores_no_run(api, cash):
    response = api.post("/api/backtests/", {"synthetic": 300, "cash": cash}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["cash"]
    assert BacktestRun.objects.count() == 0


def test_a_backtest_csv_dated_year_one_is_a_400_naming_the_file(api):
    rows = "".join(f"0001-01-{day:02d},1,2,0.5,1.5,100\n" for day in range(1, 29))
    upload = io.BytesIO(("Date,Open,High,Low,Close,Volume\n" + rows).encode())
    upload.name = "ancient.csv"
    response = api.post(
        "/api/backtests/", {"file": upload, "fast": 2, "slow": 5}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["file"]
    assert response.json()["file"][0].startswith("ancient.csv")
    assert BacktestRun.objects.count() == 0


def test_positions_after_the_largest_in_range_trade_are_computed(api):
    big = "999999999999"
    created = api.post(
        "/api/trades/",
        {"ticker": "AAPL", "side": "buy", "price": big, "quantity": big},
        format="json",
    )
    assert created.status_code == 201, created.json()
    response = api.get("/api/positions/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["quantity"] == big and row["average_cost"] == big
    assert row["market_value"] == str(999999999999**2)
