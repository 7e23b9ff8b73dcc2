"""The monitor page in headless Chromium against the served process and a replayed spike."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, _need_chromium

USERNAME, PASSWORD = "eve", "monitor-pass-123"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium():
    _need_chromium()
    return CHROMIUM


def write_spike_csv(path: Path) -> None:
    """AAPL every 0.25 s for 9 s around 230, with a 3 % jump 4 s in; MSFT beside it."""
    start = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)
    lines = ["ticker,timestamp,price"]
    for i in range(36):
        price = 230.0 + (0.05 if i % 2 else 0.0) + i * 0.01
        if i >= 16:
            price = 237.5 + (i % 3) * 0.02
        at = (start + timedelta(milliseconds=250 * i)).isoformat()
        lines.append(f"AAPL,{at},{price:.2f}")
        lines.append(f"MSFT,{at},{420 + (i % 4) * 0.05:.2f}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    tmp = tmp_path_factory.mktemp("monitor")
    csv_path = tmp / "spike.csv"
    write_spike_csv(csv_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DB_NAME", "REDIS_URL", "PYTHONPYCACHEPREFIX"}
    }
    env.update(
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        MARKET_DATA_PROVIDER="replay",
        MARKET_REPLAY_FILE=str(csv_path),
        MARKET_REPLAY_SPEED="1",
        MARKET_REPLAY_REBASE="true",
        LOG_LEVEL="WARNING",
    )
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run(
        [
            python,
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = Server(env, tmp / "server.log")
    server.start()
    yield server
    server.stop()


def log_in(page, base: str) -> None:
    page.goto(base + "/web/monitor/")
    assert "/web/login/" in page.url
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url("**/web/monitor/")


def test_monitor_shows_live_prices_and_an_alert(server, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            log_in(page, server.base)

            page.fill("#ticker-input", "aapl")
            page.click("#connect-button")
            card = page.locator('.card[data-ticker="AAPL"]')
            expect(card).to_be_visible()
            expect(page.locator("#connection")).to_have_attribute("data-state", "open")
            price = card.locator(".price")
            expect(price).not_to_have_text("—", timeout=10_000)
            first = price.inner_text()
            expect(price).not_to_have_text(first, timeout=10_000)  # prices move

            alert = page.locator("#alerts li.up").first
            expect(alert).to_contain_text("Price Spike Alert: AAPL increased by", timeout=15_000)
            expect(card.locator(".average")).not_to_have_text("—")
            assert float(price.inner_text()) > 237.0
            marker_chart = card.locator(".chart canvas").first
            expect(marker_chart).to_be_visible()

            # A second ticker on the same socket gets its own card and prices.
            page.fill("#ticker-input", "MSFT")
            page.click("#connect-button")
            msft = page.locator('.card[data-ticker="MSFT"] .price')
            expect(msft).to_have_text(re.compile(r"^42\d\.\d\d$"), timeout=10_000)
            expect(page.locator(".card")).to_have_count(2)
            page.wait_for_timeout(1000)  # a second of MSFT prices on its chart
            page.screenshot(path=str(tmp_path / "monitor.png"), full_page=True)
            shot = os.environ.get("TRADEPULSE_SCREENSHOT")
            if shot:
                page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()


def test_monitor_reconnects_and_resyncs_after_a_server_restart(server, chromium):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            log_in(page, server.base)
            page.fill("#ticker-input", "MSFT")
            page.click("#connect-button")
            connection = page.locator("#connection")
            expect(connection).to_have_attribute("data-state", "open")
            price = page.locator('.card[data-ticker="MSFT"] .price')
            expect(price).not_to_have_text("—", timeout=10_000)

            updated = page.locator('.card[data-ticker="MSFT"] .updated')
            before = updated.inner_text()

            server.stop()
            expect(connection).to_have_attribute("data-state", "reconnecting")
            server.start()
            # Back by itself (backoff), resubscribed: the new server's prices arrive.
            expect(connection).to_have_attribute("data-state", "open", timeout=20_000)
            expect(updated).not_to_have_text(before, timeout=10_000)
            expect(price).to_have_text(re.compile(r"^42\d\.\d\d$"))
            expect(page.locator(".card")).to_have_count(1)
        finally:
            browser.close()
