"""The trader's pages through Django's test client: sign-in, CSRF, errors beside the fields
(the API's own messages), nothing stored on bad input, other users' objects are 404."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from algo.models import BacktestRun, PaperSession
from ledger.models import Trade
from live.models import Alert, AlertRule
from tests.web.conftest import field_error

pytestmark = pytest.mark.django_db

PAGES = [
    "/web/trades/",
    "/web/positions/",
    "/web/alerts/",
    "/web/backtests/",
    "/web/paper/",
    "/web/monitor/",
]


def make_trade(owner, ticker="AAPL", side="buy", price="100", quantity="2", **extra):
    return Trade.objects.create(
        owner=owner,
        ticker=ticker,
        side=side,
        price=Decimal(price),
        quantity=Decimal(quantity),
        **extra,
    )


def test_signed_out_root_is_the_login_page_and_pages_send_you_there(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'action="/web/login/"' in html and 'name="password"' in html
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/web/login/?next={path}"


def test_signing_in_lands_on_the_dashboard(client, make_user):
    make_user("dora", "a-long-pass-987")
    response = client.post("/web/login/", {"username": "dora", "password": "a-long-pass-987"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert "<h1>Dashboard</h1>" in page.content.decode()


def test_wrong_password_is_shown_on_the_login_page(client, make_user):
    make_user("dora", "a-long-pass-987")
    response = client.post("/web/login/", {"username": "dora", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


@pytest.mark.parametrize("path", ["/", *PAGES])
def test_every_page_has_the_one_navigation_bar(web, path):
    html = web.get(path).content.decode()
    for link in ('href="/"', *(f'href="{p}"' for p in PAGES)):
        assert link in html, (path, link)
    assert html.count('<nav class="nav"') == 1
    assert 'aria-current="page"' in html


def test_pages_fetch_nothing_from_outside_the_server(web):
    make_trade(web.user)
    run = BacktestRun.objects.create(owner=web.user, status="failed", params={}, data={})
    for path in ["/", *PAGES, f"/web/backtests/{run.pk}/"]:
        html = web.get(path).content.decode()
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", url), (path, url)


def test_posting_without_the_csrf_token_is_refused(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    data = {"ticker": "AAPL", "side": "buy", "price": "10", "quantity": "1"}
    assert client.post("/web/trades/new/", data).status_code == 403
    assert not Trade.objects.exists()
    page = client.get("/web/trades/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert (
        client.post("/web/trades/new/", {**data, "csrfmiddlewaretoken": token}).status_code == 302
    )
    assert Trade.objects.count() == 1


# -- trades ------------------------------------------------------------------------------


def test_add_a_trade_then_see_it_in_the_table(web):
    response = web.post(
        "/web/trades/new/",
        {"ticker": "msft", "side": "Buy", "price": "411.10", "quantity": "5", "timestamp": ""},
    )
    assert response.status_code == 302 and response["Location"] == "/web/trades/"
    trade = Trade.objects.get()
    assert (trade.owner, trade.ticker, trade.side) == (web.user, "MSFT", "buy")
    assert trade.price == Decimal("411.10") and trade.source == "api"
    html = web.get("/web/trades/").content.decode()
    assert "MSFT" in html and "411.1<" in html and "411.10000000" not in html


def test_bad_trade_shows_the_apis_messages_beside_each_field_and_stores_nothing(web, api):
    bad = {"ticker": "$$$", "side": "hold", "price": "-1", "quantity": "abc"}
    response = web.post("/web/trades/new/", bad)
    assert response.status_code == 400
    assert not Trade.objects.exists()
    expected = api.post("/api/trades/", bad, format="json").json()
    for name in ("ticker", "side", "price", "quantity"):
        assert field_error(response, name) == " ".join(expected[name]), name
    # What was typed stays in the form.
    assert 'value="abc"' in response.content.decode()


def test_missing_fields_are_named(web):
    response = web.post("/web/trades/new/", {"side": "buy"})
    assert response.status_code == 400
    assert field_error(response, "ticker") == "This field is required."
    assert field_error(response, "price") == "This field is required."


def test_filters_narrow_the_table_and_bad_filters_are_named(web):
    make_trade(web.user, "AAPL", "buy")
    make_trade(web.user, "MSFT", "sell")
    html = web.get("/web/trades/?ticker=msft").content.decode()
    rows = re.findall(r'<tr data-trade-id="\d+">.*?</tr>', html, re.S)
    assert len(rows) == 1 and "MSFT" in rows[0]
    html = web.get("/web/trades/?side=sell&ticker=aapl").content.decode()
    assert "No trades match these filters" in html
    response = web.get("/web/trades/?start_date=yesterday")
    assert "start_date" in response.content.decode() or field_error(
        response, "start_date", "filter"
    )
    assert field_error(response, "start_date", "filter")


def test_an_htmx_filter_request_gets_only_the_table(web):
    make_trade(web.user, "AAPL")
    response = web.get(
        "/web/trades/?ticker=AAPL", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="trade-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="trade-table"') and "<nav" not in html


def test_table_pages_newest_first_with_next_and_previous(web):
    from datetime import UTC, datetime, timedelta

    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(55):
        make_trade(web.user, price=str(100 + i), timestamp=start + timedelta(minutes=i))
    first = web.get("/web/trades/?ticker=AAPL").content.decode()
    assert first.index(">154<") < first.index(">153<")  # newest first
    assert 'rel="next" href="?ticker=AAPL&amp;page=2"' in first and 'rel="prev"' not in first
    second = web.get("/web/trades/?ticker=AAPL&page=2").content.decode()
    assert len(re.findall(r"<tr data-trade-id=", second)) == 5
    assert 'rel="prev" href="?ticker=AAPL&amp;page=1"' in second


def test_edit_a_trade_keeps_its_timestamp_and_shows_errors_beside_fields(web):
    trade = make_trade(web.user)
    stamp = trade.timestamp
    form = web.get(f"/web/trades/{trade.pk}/edit/").content.decode()
    assert 'value="AAPL"' in form and 'value="100"' in form
    bad = web.post(
        f"/web/trades/{trade.pk}/edit/",
        {"ticker": "AAPL", "side": "buy", "price": "0", "quantity": "2"},
    )
    assert bad.status_code == 400
    assert field_error(bad, "price") == "Price must be greater than 0."
    trade.refresh_from_db()
    assert trade.price == Decimal("100")
    ok = web.post(
        f"/web/trades/{trade.pk}/edit/",
        {"ticker": "AAPL", "side": "sell", "price": "101.5", "quantity": "2", "timestamp": ""},
    )
    assert ok.status_code == 302
    trade.refresh_from_db()
    assert (trade.side, trade.price, trade.timestamp) == ("sell", Decimal("101.5"), stamp)


def test_delete_a_trade_with_and_without_htmx(web):
    one, two = make_trade(web.user), make_trade(web.user)
    response = web.post(f"/web/trades/{one.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    response = web.post(f"/web/trades/{two.pk}/delete/")
    assert response.status_code == 302
    assert not Trade.objects.exists()


def test_delete_needs_a_post(web):
    trade = make_trade(web.user)
    assert web.get(f"/web/trades/{trade.pk}/delete/").status_code == 405
    assert Trade.objects.filter(pk=trade.pk).exists()


def test_other_users_trades_are_404_and_untouched(web, other_user):
    theirs = make_trade(other_user)
    assert web.get(f"/web/trades/{theirs.pk}/edit/").status_code == 404
    data = {"ticker": "X", "side": "buy", "price": "1", "quantity": "1"}
    assert web.post(f"/web/trades/{theirs.pk}/edit/", data).status_code == 404
    assert web.post(f"/web/trades/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.ticker == "AAPL"
    assert "No trades." in web.get("/web/trades/").content.decode()


def upload(text: str, name: str = "trades.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_import_a_csv_stores_every_row(web):
    text = (
        "ticker,side,price,quantity,timestamp\nAAPL,buy,10,1,2025-01-20T14:30:00Z\nmsft,sell,5,2,\n"
    )
    response = web.post("/web/trades/import/", {"file": upload(text)})
    assert response.status_code == 302
    assert sorted(Trade.objects.values_list("ticker", flat=True)) == ["AAPL", "MSFT"]
    assert set(Trade.objects.values_list("source", flat=True)) == {"import"}
    assert "Imported 2 trades" in web.get("/web/trades/").content.decode()


def test_import_with_a_bad_line_names_it_and_stores_nothing(web):
    text = "ticker,side,price,quantity\nAAPL,buy,10,1\nAAPL,hold,10,1\nMSFT,buy,5,1\n"
    response = web.post("/web/trades/import/", {"file": upload(text)})
    assert response.status_code == 400
    assert not Trade.objects.exists()
    html = response.content.decode()
    assert "1 bad row(s), nothing imported" in html
    assert "line 3: side: &#x27;hold&#x27; is not a valid side" in html


def test_import_without_a_file_or_with_a_bad_header_is_refused(web):
    assert web.post("/web/trades/import/", {}).status_code == 400
    response = web.post("/web/trades/import/", {"file": upload("a,b\n1,2\n")})
    assert response.status_code == 400
    assert "line 1: header lacks column(s) ticker, side, price, quantity" in (
        response.content.decode()
    )
    latin = SimpleUploadedFile("t.csv", "ticker,side,price,quantity\nÄ,buy,1,1\n".encode("latin-1"))
    assert "not UTF-8" in web.post("/web/trades/import/", {"file": latin}).content.decode()
    assert not Trade.objects.exists()


def test_download_is_the_filtered_list_as_the_apis_csv(web, api, other_user):
    make_trade(web.user, "AAPL")
    make_trade(web.user, "MSFT")
    make_trade(other_user, "MSFT")
    response = web.get("/web/trades/export.csv?ticker=MSFT")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0] == "id,ticker,side,price,quantity,timestamp,source,created_at,updated_at"
    assert len(lines) == 2 and ",MSFT,buy,100,2," in lines[1]
    from_api = b"".join(
        api.get("/api/trades/?ticker=MSFT", HTTP_ACCEPT="text/csv").streaming_content
    )
    assert body == from_api.decode()


def test_page_shows_the_sample_file_imports(web):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "samples" / "trades.csv"
    response = web.post("/web/trades/import/", {"file": upload(sample.read_text())})
    assert response.status_code == 302
    assert Trade.objects.count() == len(sample.read_text().strip().splitlines()) - 1


# -- positions and dashboard -------------------------------------------------------------


def test_positions_show_cost_pnl_and_totals(web):
    make_trade(web.user, "AAPL", "buy", "100", "10")
    make_trade(web.user, "AAPL", "sell", "110", "4")
    make_trade(web.user, "MSFT", "buy", "50", "2")
    html = web.get("/web/positions/").content.decode()
    aapl = re.search(r'<tr data-ticker="AAPL".*?</tr>', html, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", aapl, re.S)
    assert cells[:4] == ["AAPL", "6", "100", "110"]  # quantity, average cost, last price
    assert cells[5:] == ["660", "40", "60"]  # market value, realised, unrealised
    assert 'id="total-market-value">760<' in html  # 660 + 2 x 50
    assert 'data-live-price="AAPL"' in html
    assert '"AAPL", "MSFT"' in html  # the tickers the page's socket watches


def test_dashboard_summarises_everything(web, other_user):
    make_trade(web.user, "AAPL", "buy", "100", "3")
    make_trade(other_user, "TSLA", "buy", "100", "3")
    Alert.objects.create(
        user=None,
        ticker="NVDA",
        direction="up",
        change_pct=2.5,
        reference_price=100,
        price=102.5,
        window_seconds=60,
        timestamp="2025-01-20T14:30:00Z",
    )
    PaperSession.objects.create(owner=web.user, ticker="MSFT", cash=Decimal(1000))
    BacktestRun.objects.create(owner=web.user, status="done", params={"fast": 3}, data={})
    html = web.get("/").content.decode()
    assert 'id="total-market-value">300<' in html
    assert "NVDA up 2.50%" in html
    assert "TSLA" not in html
    assert "#1" in html or "MSFT" in html
    assert "/web/backtests/" in html


# -- alerts ------------------------------------------------------------------------------


def test_alert_rules_add_change_remove(web):
    response = web.post(
        "/web/alerts/rules/", {"ticker": "aapl", "threshold_pct": "1.5", "window_seconds": "30"}
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get(user=web.user)
    assert (rule.ticker, rule.threshold_pct, rule.window_seconds) == ("AAPL", Decimal("1.5"), 30)
    html = web.get("/web/alerts/").content.decode()
    assert 'data-rule="AAPL"' in html
    response = web.post("/web/alerts/rules/AAPL/", {"threshold_pct": "3", "window_seconds": "120"})
    assert response.status_code == 302
    rule = AlertRule.objects.get(user=web.user)
    assert (rule.threshold_pct, rule.window_seconds) == (Decimal("3"), 120)
    assert web.post("/web/alerts/rules/AAPL/delete/").status_code == 302
    assert not AlertRule.objects.exists()


def test_bad_rules_get_the_apis_messages_beside_the_fields(web, api):
    bad = {"ticker": "AAPL", "threshold_pct": "80", "window_seconds": "2"}
    response = web.post("/web/alerts/rules/", bad)
    assert response.status_code == 400
    assert not AlertRule.objects.exists()
    expected = api.put("/api/alert-rules/", {"rules": [bad]}, format="json").json()["rules"][0]
    assert field_error(response, "threshold_pct") == expected["threshold_pct"][0]
    assert field_error(response, "window_seconds") == expected["window_seconds"][0]


def test_a_second_rule_for_a_ticker_is_refused(web):
    data = {"ticker": "AAPL", "threshold_pct": "1", "window_seconds": "60"}
    web.post("/web/alerts/rules/", data)
    response = web.post("/web/alerts/rules/", {**data, "threshold_pct": "2"})
    assert response.status_code == 400
    assert "already a rule for AAPL" in field_error(response, "ticker")
    assert AlertRule.objects.get().threshold_pct == Decimal("1")


def test_a_bad_change_is_shown_beside_that_rules_field(web):
    web.post("/web/alerts/rules/", {"ticker": "AAPL", "threshold_pct": "1", "window_seconds": "60"})
    response = web.post("/web/alerts/rules/AAPL/", {"threshold_pct": "x", "window_seconds": "60"})
    assert response.status_code == 400
    assert field_error(response, "threshold_pct", "AAPL") == "A number is required."
    assert AlertRule.objects.get().threshold_pct == Decimal("1")


def test_other_users_rules_cannot_be_changed_or_removed(web, other_user):
    AlertRule.objects.create(user=other_user, ticker="AAPL", threshold_pct=1, window_seconds=60)
    data = {"threshold_pct": "5", "window_seconds": "60"}
    assert web.post("/web/alerts/rules/AAPL/", data).status_code == 404
    assert web.post("/web/alerts/rules/AAPL/delete/").status_code == 404
    assert AlertRule.objects.get().threshold_pct == 1


def test_alert_history_filters(web, other_user):
    def alert(user, ticker, direction):
        Alert.objects.create(
            user=user,
            ticker=ticker,
            direction=direction,
            change_pct=2.5 if direction == "up" else -2.5,
            reference_price=100,
            price=102.5,
            window_seconds=60,
            timestamp="2025-01-20T14:30:00Z",
        )

    alert(None, "AAPL", "up")
    alert(web.user, "MSFT", "down")
    alert(other_user, "TSLA", "up")
    html = web.get("/web/alerts/").content.decode()
    assert "AAPL" in html and "MSFT" in html and "TSLA" not in html
    html = web.get("/web/alerts/?direction=down").content.decode()
    table = html.split('id="alerts"')[1].split("</table>")[0]
    assert "MSFT" in table and "AAPL" not in table
    response = web.get("/web/alerts/?direction=sideways")
    assert "not a valid direction" in field_error(response, "direction", "filter")


# -- backtests ---------------------------------------------------------------------------


def test_run_a_backtest_and_read_its_page(web):
    response = web.post(
        "/web/backtests/",
        {
            "source": "synthetic",
            "synthetic": "300",
            "seed": "2",
            "fast": "5",
            "slow": "20",
            "kind": "ema",
            "cash": "5000",
            "commission": "0.001",
            "allow_short": "true",
            "ticker": "IGNORED-BY-SOURCE",
        },
    )
    assert response.status_code == 302
    run = BacktestRun.objects.get(owner=web.user)
    assert response["Location"] == f"/web/backtests/{run.pk}/"
    assert run.params == {
        "fast": 5,
        "slow": 20,
        "kind": "ema",
        "allow_short": True,
        "cash": 5000.0,
        "commission": 0.001,
    }
    assert run.data["source"] == "synthetic" and run.bars == 300
    html = web.get(response["Location"]).content.decode()
    assert 'id="stats"' in html and "sharpe_ratio" in html
    chart = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    import json

    data = json.loads(chart.group(1))
    assert len(data["candles"]) == 300
    assert [a["name"] for a in data["averages"]] == ["EMA(5)", "EMA(20)"]
    assert len(data["equity"]) == 300 and data["drawdown"]
    assert len(data["markers"]) >= 2 * run.stats["trades"]
    assert "lightweight-charts.standalone.production.js" in html


def test_bad_backtest_input_is_beside_its_field_as_the_api_says_and_stores_nothing(web, api):
    bad = {"synthetic": "300", "fast": "30", "slow": "20"}
    response = web.post("/web/backtests/", {"source": "synthetic", **bad})
    assert response.status_code == 400
    expected = api.post("/api/backtests/", bad, format="json").json()
    assert field_error(response, "fast", "bt") == expected["fast"][0]
    response = web.post(
        "/web/backtests/", {"source": "synthetic", "synthetic": "300", "commission": "0.5"}
    )
    assert "commission" in field_error(response, "commission", "bt") or field_error(
        response, "commission", "bt"
    )
    response = web.post("/web/backtests/", {"source": "file"})
    assert response.status_code == 400
    assert not BacktestRun.objects.exists()


def test_backtest_on_an_uploaded_csv(web):
    from tradepulse.backtest import synthetic_bars

    csv = SimpleUploadedFile("prices.csv", synthetic_bars(120, seed=3).to_csv().encode())
    response = web.post(
        "/web/backtests/",
        {"source": "file", "file": csv, "fast": "3", "slow": "9", "synthetic": "99"},
    )
    assert response.status_code == 302
    run = BacktestRun.objects.get()
    assert run.data == {"source": "csv", "name": "prices.csv"} and run.bars == 120


def test_other_users_runs_are_404(web, other_user):
    run = BacktestRun.objects.create(owner=other_user, status="done", params={}, data={})
    assert web.get(f"/web/backtests/{run.pk}/").status_code == 404
    assert f"#{run.pk}<" not in web.get("/web/backtests/").content.decode()


def test_sweep_shows_a_heatmap_whose_cells_open_that_pairs_run(web):
    response = web.post(
        "/web/backtests/sweep/",
        {
            "source": "synthetic",
            "synthetic": "200",
            "seed": "5",
            "fast": "3:9:3",
            "slow": "10:20:10",
            "metric": "return_pct",
            "kind": "sma",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    cells = re.findall(r'class="cell" data-fast="(\d+)" data-slow="(\d+)"', html)
    assert sorted(cells) == sorted((str(f), str(s)) for f in (3, 6, 9) for s in (10, 20))
    assert not BacktestRun.objects.exists()  # a sweep stores no run
    form = re.search(
        r'<form method="post" action="/web/backtests/">((?:(?!</form>).)*data-fast="6" '
        r'data-slow="20"(?:(?!</form>).)*)</form>',
        html,
        re.S,
    ).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields.pop("csrfmiddlewaretoken")
    opened = web.post("/web/backtests/", fields)
    assert opened.status_code == 302
    run = BacktestRun.objects.get()
    assert (run.params["fast"], run.params["slow"]) == (6, 20)
    assert run.data == {"source": "synthetic", "bars": 200, "seed": 5, "freq": "1D"}


def test_sweep_of_an_upload_opens_pairs_on_the_same_bars(web, other_web):
    from tradepulse.backtest import synthetic_bars

    csv = SimpleUploadedFile("p.csv", synthetic_bars(150, seed=1).to_csv().encode())
    html = web.post(
        "/web/backtests/sweep/",
        {"source": "file", "file": csv, "fast": "3", "slow": "8:12:4"},
    ).content.decode()
    key = re.search(r'name="sweep" value="([0-9a-f]{32})"', html).group(1)
    fields = {"source": "file", "sweep": key, "fast": "3", "slow": "12"}
    assert web.post("/web/backtests/", fields).status_code == 302
    assert BacktestRun.objects.get().bars == 150
    # Another user cannot use the key.
    assert other_web.post("/web/backtests/", fields).status_code == 400


def test_bad_sweeps_are_named_in_the_form(web):
    response = web.post(
        "/web/backtests/sweep/",
        {"source": "synthetic", "synthetic": "200", "fast": "1:500", "slow": "2:500"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#sweep-form"
    assert "at most 400 per sweep" in field_error(response, "fast", "sw")
    response = web.post(
        "/web/backtests/sweep/",
        {"source": "synthetic", "synthetic": "200", "fast": "a:b", "slow": "10"},
    )
    assert "START:STOP" in field_error(response, "fast", "sw")


# -- paper trading -----------------------------------------------------------------------


def test_start_watch_and_stop_a_paper_session(web):
    response = web.post(
        "/web/paper/",
        {"ticker": "aapl", "bar": "5s", "fast": "2", "slow": "3", "cash": "5000", "quantity": "1"},
    )
    assert response.status_code == 302
    session = PaperSession.objects.get()
    assert (session.ticker, session.interval, session.status, session.runner) == (
        "AAPL",
        "5s",
        "running",
        "feed",
    )
    partial = web.get("/web/paper/sessions/").content.decode()
    assert f'data-session="{session.pk}"' in partial and 'hx-trigger="every 2s"' in partial
    assert web.post(f"/web/paper/{session.pk}/stop/").status_code == 302
    session.refresh_from_db()
    assert session.status == "stopped"


def test_bad_paper_input_is_named_and_stores_nothing(web, api):
    bad = {"ticker": "AAPL", "bar": "2s"}
    response = web.post("/web/paper/", bad)
    assert response.status_code == 400
    expected = api.post("/api/paper-sessions/", bad, format="json").json()
    assert field_error(response, "bar") == expected["bar"][0]
    response = web.post("/web/paper/", {"bar": "1m"})
    assert field_error(response, "ticker") == "This field is required."
    assert not PaperSession.objects.exists()


def test_other_users_sessions_cannot_be_stopped(web, other_user):
    session = PaperSession.objects.create(owner=other_user, ticker="MSFT", cash=Decimal(1000))
    assert web.post(f"/web/paper/{session.pk}/stop/").status_code == 404
    session.refresh_from_db()
    assert session.status == "running"
    assert "MSFT" not in web.get("/web/paper/sessions/").content.decode()


# -- first steps -------------------------------------------------------------------------


def test_seed_demo_never_brings_deleted_sample_trades_back(db, settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    assert Trade.objects.filter(owner__username="demo").count() == 5
    Trade.objects.filter(owner__username="demo").first().delete()
    left = Trade.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Trade.objects.count() == left
