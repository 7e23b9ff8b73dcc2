"""POST/GET /api/backtests/: inline runs agree with the engine; inputs, ownership, plots."""

from __future__ import annotations

import io

import pytest

from tradepulse.backtest import MovingAverageCrossover, backtest, synthetic_bars

pytestmark = pytest.mark.django_db


def engine_result(
    bars, fast=5, slow=20, kind="sma", allow_short=False, cash=10_000.0, commission=0.0
):
    return backtest(
        bars,
        MovingAverageCrossover(fast, slow, kind, allow_short),
        cash=cash,
        commission=commission,
    )


def csv_upload(bars, name="prices.csv"):
    buffer = io.BytesIO(bars.to_csv().encode())
    buffer.name = name
    return buffer


def test_synthetic_run_returns_the_engine_statistics_and_trades(api):
    response = api.post(
        "/api/backtests/",
        {
            "synthetic": 600,
            "seed": 4,
            "fast": 8,
            "slow": 30,
            "kind": "ema",
            "allow_short": True,
            "commission": 0.001,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    expected = engine_result(synthetic_bars(600, seed=4), 8, 30, "ema", True, commission=0.001)
    assert body["status"] == "done"
    assert body["stats"] == expected.to_json_dict()
    assert body["trades"] == expected.trades_json()
    assert body["bars"] == 600
    assert body["params"] == {
        "fast": 8,
        "slow": 30,
        "kind": "ema",
        "allow_short": True,
        "cash": 10000.0,
        "commission": 0.001,
    }
    assert body["plots"]["png"].endswith(f"/api/backtests/{body['id']}/plot.png")

    again = api.get(f"/api/backtests/{body['id']}/")
    assert again.status_code == 200 and again.json()["stats"] == body["stats"]


def test_uploaded_csv_runs_like_the_engine_on_the_same_file(api):
    bars = synthetic_bars(300, seed=8)
    response = api.post(
        "/api/backtests/",
        {"file": csv_upload(bars), "fast": "5", "slow": "20", "commission": "0.002"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["data"] == {"source": "csv", "name": "prices.csv"}
    expected = engine_result(bars, commission=0.002)
    assert body["stats"]["trades"] == expected.stats["trades"]
    assert body["stats"]["equity_final"] == pytest.approx(expected.stats["equity_final"], rel=1e-9)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"synthetic": 300, "fast": 20, "slow": 10}, "fast"),
        ({"synthetic": 300, "fast": 20, "slow": 20}, "fast"),
        ({"synthetic": 300, "kind": "wma"}, "kind"),
        ({"synthetic": 300, "fast": "ten"}, "fast"),
        ({"synthetic": 300, "cash": -5}, "cash"),
        ({"synthetic": 300, "commission": 0.5}, "commission"),
        ({"synthetic": 300, "allow_short": "maybe"}, "allow_short"),
        ({"synthetic": 1}, "synthetic"),
        ({"synthetic": 10, "slow": 20}, "slow"),
        ({"fast": 5}, "ticker"),
        ({"synthetic": 300, "ticker": "AAPL"}, "synthetic"),
        ({"ticker": "not a symbol!"}, "ticker"),
        # Frequencies too large for pandas' time arithmetic.
        ({"synthetic": 100, "freq": "99999999999999999999D"}, "freq"),
        ({"synthetic": 100, "freq": "2000000D"}, "freq"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(api, payload, field):
    response = api.post("/api/backtests/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("name", "second_row", "problem"),
    [
        ("mine.csv", "2024-01-02,1,2,0.5,", "Close is missing"),
        # 1e308 is a finite float, but a backtest's equity and its plot's axes overflow on it.
        ("huge.csv", "2024-01-02,1e308,1e308,1e308,1e308", "Open (1e+308) is not below 1e+12"),
    ],
)
def test_a_bad_csv_is_a_400_naming_the_file_and_the_row(api, name, second_row, problem):
    text = f"Date,Open,High,Low,Close\n2024-01-01,1,2,0.5,1.5\n{second_row}\n"
    upload = io.BytesIO(text.encode())
    upload.name = name
    response = api.post("/api/backtests/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    message = response.json()["file"][0]
    assert message.startswith(f"{name}: row 2") and problem in message


def test_an_unreachable_yahoo_is_a_502_with_the_reason(api, offline_yahoo):
    response = api.post("/api/backtests/", {"ticker": "aapl"}, format="json")
    assert response.status_code == 502
    body = response.json()
    assert body["field"] == "ticker"
    assert body["detail"].startswith("could not download AAPL from Yahoo Finance")


def test_a_downloaded_ticker_is_backtested_and_its_bars_kept(api, monkeypatch):
    import yfinance

    bars = synthetic_bars(260, seed=12)
    monkeypatch.setattr(yfinance.Ticker, "history", lambda self, **kw: bars.copy())
    response = api.post("/api/backtests/", {"ticker": "msft", "fast": 5, "slow": 20}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["data"] == {"source": "ticker", "ticker": "MSFT", "period": "1y", "interval": "1d"}
    assert body["stats"] == engine_result(bars).to_json_dict()
    # The plot is drawn from the kept bars, without downloading again.
    monkeypatch.setattr(yfinance.Ticker, "history", lambda self, **kw: 1 / 0)
    assert api.get(f"/api/backtests/{body['id']}/plot.html").status_code == 200


def test_plots_are_drawn_by_the_engine(api):
    run = api.post("/api/backtests/", {"synthetic": 300, "seed": 1}, format="json").json()
    png = api.get(f"/api/backtests/{run['id']}/plot.png", HTTP_ACCEPT="image/png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert b"".join(png.streaming_content).startswith(b"\x89PNG\r\n")
    page = api.get(f"/api/backtests/{run['id']}/plot.html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"<svg" in b"".join(page.streaming_content)


def test_another_users_run_is_a_404_everywhere(api, other_api):
    run = api.post("/api/backtests/", {"synthetic": 300}, format="json").json()
    for suffix in ("", "plot.png", "plot.html"):
        assert other_api.get(f"/api/backtests/{run['id']}/{suffix}").status_code == 404
    assert other_api.get("/api/backtests/").json()["results"] == []


def test_anonymous_requests_are_refused(anon):
    assert anon.get("/api/backtests/").status_code in (401, 403)
    assert anon.post("/api/backtests/", {"synthetic": 300}, format="json").status_code in (401, 403)


def test_the_list_shows_the_users_runs_newest_first_in_cursor_pages(api):
    ids = [
        api.post(
            "/api/backtests/", {"synthetic": 100, "seed": s, "fast": 2, "slow": 5}, format="json"
        ).json()["id"]
        for s in range(3)
    ]
    first = api.get("/api/backtests/?page_size=2").json()
    assert [r["id"] for r in first["results"]] == ids[::-1][:2]
    assert "stats" not in first["results"][0] and first["results"][0]["status"] == "done"
    second = api.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == [ids[0]]
    assert second["next"] is None


def test_large_runs_are_queued_for_the_worker_when_redis_is_configured(
    api, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from algo import tasks

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.BACKTEST_INLINE_MAX_BARS = 100
    sent = []
    monkeypatch.setattr(tasks.run_backtest, "delay", lambda run_id: sent.append(run_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/backtests/", {"synthetic": 300}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["stats"] is None and body["plots"] is None
    assert sent == [body["id"]]
    # Plots of an unfinished run are a conflict, not an error.
    assert api.get(f"/api/backtests/{body['id']}/plot.png").status_code == 409

    # What the worker runs: the task function itself.
    assert tasks.run_backtest(body["id"]) == "done"
    done = api.get(f"/api/backtests/{body['id']}/").json()
    assert done["stats"] == engine_result(synthetic_bars(300, seed=0), 10, 20).to_json_dict()
