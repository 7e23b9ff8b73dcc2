"""The trader's pages in headless Chromium against a real server on the embedded default
(SQLite, in-process feed) replaying ``samples/replay.csv``: one flow per page.

With ``TRADEPULSE_SCREENSHOTS=docs/img`` each flow also saves its page at 1440 px for the
README.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Server, create_user, manage, server_env

USERNAME, PASSWORD = "tess", "pages-pass-123"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser_type_launch_args):
    tmp = tmp_path_factory.mktemp("pages")
    env = server_env(
        tmp,
        MARKET_DATA_PROVIDER="replay",
        MARKET_REPLAY_FILE=str(ROOT / "samples" / "replay.csv"),
        MARKET_REPLAY_SPEED="1",
        MARKET_REPLAY_LOOP="true",
        MARKET_REPLAY_REBASE="true",
        PAPER_REFRESH_SECONDS="1",
    )
    manage(env, "migrate", "--noinput", "-v0")
    create_user(env, USERNAME, PASSWORD)
    server = Server(env, tmp / "server.log")
    server.start()
    yield server
    server.stop()


def shoot(page, name: str) -> None:
    folder = os.environ.get("TRADEPULSE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"page-{name}.png"), full_page=True)


def sign_in(page, base: str) -> None:
    page.goto(base + "/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_sign_in_lands_on_the_dashboard(server, page):
    from playwright.sync_api import expect

    page.goto(server.base + "/web/trades/")
    assert "/web/login/?next=/web/trades/" in page.url
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("correct username and password")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base + "/web/trades/")
    page.click("nav.nav >> text=Dashboard")
    expect(page.locator("h1")).to_have_text("Dashboard")
    for name in ("Trades", "Positions", "Alerts", "Backtests", "Paper", "Monitor"):
        expect(page.locator("nav.nav").get_by_role("link", name=name)).to_be_visible()


def test_trade_add_filter_positions_edit_delete(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/trades/")
    form = page.locator("#trade-form")
    # A bad price first: the message appears beside the field and nothing is stored.
    form.locator("#id_ticker").fill("nvda")
    form.locator("#id_price").fill("-3")
    form.locator("#id_quantity").fill("4")
    form.locator("button[type=submit]").click()
    expect(page.locator("#id_price_error")).to_have_text("Price must be greater than 0.")
    expect(page.locator("#trades")).to_contain_text("No trades")
    form.locator("#id_price").fill("139.5")
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Recorded trade")
    row = page.locator("#trades tbody tr", has_text="NVDA")
    expect(row).to_contain_text("139.5")
    form.locator("#id_ticker").fill("MSFT")
    form.locator("#id_price").fill("420")
    form.locator("#id_quantity").fill("1")
    form.locator("button[type=submit]").click()
    expect(page.locator("#trades tbody tr")).to_have_count(2)

    # The filter narrows the table in place (htmx) and the address keeps it.
    page.fill("#filter_ticker", "nvda")
    page.locator("form.filters button[type=submit]").click()
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    expect(page.locator("#trades tbody tr")).to_contain_text("NVDA")
    page.wait_for_url(re.compile(r"ticker=nvda"))
    shoot(page, "trades")

    # Positions: the trade is there, and the last price comes live from the replayed feed.
    page.click("nav.nav >> text=Positions")
    nvda = page.locator('#positions tr[data-ticker="NVDA"]')
    expect(nvda).to_contain_text("139.5")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open", timeout=15_000)
    expect(nvda.locator(".price")).not_to_have_text("139.5", timeout=20_000)
    expect(nvda.locator("td").nth(4)).to_have_text("live", timeout=20_000)
    expect(page.locator("#total-market-value")).not_to_have_text("—")
    shoot(page, "positions")

    # Edit, then delete.
    page.goto(server.base + "/web/trades/?ticker=NVDA")
    page.locator("#trades tbody tr", has_text="NVDA").get_by_role("link", name="Edit").click()
    page.fill("#id_quantity", "6")
    page.locator("#trade-form button[type=submit]").click()
    expect(page.locator("#trades tbody tr", has_text="NVDA")).to_contain_text("6")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#trades tbody tr", has_text="NVDA").get_by_role("button", name="Delete").click()
    expect(page.locator("#trades tbody tr", has_text="NVDA")).to_have_count(0)
    page.reload()
    expect(page.locator("#trades tbody tr", has_text="NVDA")).to_have_count(0)
    expect(page.locator("#trades tbody tr", has_text="MSFT")).to_have_count(1)


def test_import_with_a_bad_line_shows_its_number_and_stores_nothing(server, page, tmp_path):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/trades/?ticker=AMD")
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,side,price,quantity\nAMD,buy,120,1\nAMD,buy,abc,1\nAMD,sell,125,1\n")
    page.set_input_files("#id_file", str(bad))
    page.locator("#import-form button[type=submit]").click()
    expect(page.locator("#import-errors")).to_contain_text("line 3: price: A valid number")
    page.goto(server.base + "/web/trades/?ticker=AMD")
    expect(page.locator("#trades")).to_contain_text("No trades match")
    page.set_input_files("#id_file", str(ROOT / "samples" / "trades.csv"))
    page.locator("#import-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Imported 8 trades")


def test_run_a_backtest_and_see_statistics_and_chart(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/backtests/")
    form = page.locator("#backtest-form")
    form.locator("#bt_synthetic").fill("400")
    form.locator("#bt_fast").fill("30")
    form.locator("#bt_slow").fill("20")
    form.locator("button[type=submit]").click()
    expect(page.locator("#bt_fast_error")).to_contain_text("must be smaller than slow")
    form.locator("#bt_fast").fill("8")
    form.locator("#bt_seed").fill("3")
    form.locator("#bt_commission").fill("0.001")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/web/backtests/\d+/$"))
    expect(page.locator("h1")).to_contain_text("done")
    expect(page.locator("#stats")).to_contain_text("sharpe_ratio")
    expect(page.locator("#price-chart canvas").first).to_be_visible()
    expect(page.locator("#equity-chart canvas").first).to_be_visible()
    expect(page.locator("#drawdown-chart canvas").first).to_be_visible()
    expect(page.locator("#run-trades tbody tr").first).to_be_visible()
    shoot(page, "backtest")


def test_sweep_heatmap_opens_a_pair(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/backtests/")
    form = page.locator("#sweep-form")
    form.locator("#sw_synthetic").fill("300")
    form.locator("#sw_fast").fill("4:12:4")
    form.locator("#sw_slow").fill("15:45:15")
    form.locator("#sw_metric").select_option("return_pct")
    form.locator("button[type=submit]").click()
    cell = page.locator('#heatmap button.cell[data-fast="8"][data-slow="30"]')
    expect(cell).to_be_visible()
    expect(page.locator("#heatmap button.cell")).to_have_count(9)
    shoot(page, "backtests")
    cell.click()
    page.wait_for_url(re.compile(r"/web/backtests/\d+/$"))
    expect(page.locator("main > p.muted").first).to_contain_text("Fast 8 / Slow 30")
    expect(page.locator("#price-chart canvas").first).to_be_visible()


def test_paper_session_gets_a_fill_and_stops(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/paper/")
    form = page.locator("#paper-form")
    form.locator("#id_ticker").fill("aapl")
    form.locator("#id_bar").fill("5s")
    form.locator("#id_fast").fill("2")
    form.locator("#id_slow").fill("3")
    form.locator("#id_quantity").fill("3")
    form.locator("button[type=submit]").click()
    session = page.locator("section.session", has_text="AAPL")
    expect(session).to_be_visible()
    # The replayed feed reaches the session without the monitor open; a fill shows up live.
    expect(session.locator(".price")).not_to_have_text("—", timeout=30_000)
    expect(session.locator(".fills-table tbody tr").first).to_be_visible(timeout=90_000)
    expect(session.locator(".fills")).not_to_have_text("0")
    shoot(page, "paper")
    session.get_by_role("button", name="Stop").click()
    expect(page.locator("section.session", has_text="AAPL")).to_have_count(0)
    expect(page.locator("#paper-sessions")).to_contain_text("Stopped")
    page.goto(server.base + "/web/trades/?ticker=AAPL")
    expect(page.locator("#trades tbody tr", has_text="paper").first).to_be_visible()


def test_add_and_remove_an_alert_rule(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    page.goto(server.base + "/web/alerts/")
    form = page.locator("#rule-form")
    form.locator("#id_ticker").fill("msft")
    form.locator("#id_threshold_pct").fill("75")
    form.locator("#id_window_seconds").fill("30")
    form.locator("button[type=submit]").click()
    expect(page.locator("#id_threshold_pct_error")).to_have_text(
        "Must be more than 0 and at most 50 (percent)."
    )
    page.locator("#rule-form #id_threshold_pct").fill("0.5")
    page.locator("#rule-form button[type=submit]").click()
    rule = page.locator('form.rule[data-rule="MSFT"]')
    expect(rule).to_be_visible()
    rule.locator('input[name="window_seconds"]').fill("45")
    rule.get_by_role("button", name="Save").click()
    expect(page.locator('form.rule[data-rule="MSFT"] input[name="window_seconds"]')).to_have_value(
        "45"
    )
    # The rule's alerts (MSFT moves more than 0.5 % in 45 s on the replay) reach the history.
    page.wait_for_timeout(100)
    shoot(page, "alerts")
    page.locator('form.rule[data-rule="MSFT"]').get_by_role("button", name="Remove").click()
    expect(page.locator('form.rule[data-rule="MSFT"]')).to_have_count(0)
    expect(page.locator("#no-rules")).to_be_visible()


def test_dashboard_and_monitor_show_what_happened(server, page):
    from playwright.sync_api import expect

    sign_in(page, server.base)
    expect(page.locator("#total-market-value")).not_to_have_text("—")
    expect(page.get_by_role("heading", name="Recent backtests")).to_be_visible()
    expect(page.locator("table.runs tbody tr").first).to_be_visible()
    shoot(page, "dashboard")
    page.click("nav.nav >> text=Monitor")
    expect(page.locator("nav.nav")).to_be_visible()
    page.fill("#ticker-input", "AAPL")
    page.click("#connect-button")
    expect(page.locator('.card[data-ticker="AAPL"] .price')).not_to_have_text("—", timeout=15_000)
    page.wait_for_timeout(1500)
    shoot(page, "monitor")
