"""The ``ws/stocks/<ticker>/`` consumer: authentication, origin, tickers, snapshots, ticks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.live.conftest import ORIGIN, T0, receive_until
from tradepulse.market import ProviderState
from tradepulse.timeutil import format_timestamp

pytestmark = pytest.mark.django_db(transaction=True)


async def test_socket_without_session_or_token_is_closed_with_4401(connect, settings):
    settings.LIVE_WS_AUTH_TIMEOUT = 0.2
    ws = await connect("AAPL")
    error = await ws.receive_json_from(timeout=3)
    assert error == {
        "type": "error",
        "error": "unauthenticated",
        "reason": "authentication timed out",
        "code": 4401,
    }
    closed = await ws.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_bad_token_in_first_message_is_closed_with_4401(connect, token):
    ws = await connect("AAPL")
    await ws.send_json_to({"type": "auth", "token": token + "x"})
    error = await ws.receive_json_from(timeout=3)
    assert error["code"] == 4401 and error["reason"] == "invalid token"
    assert (await ws.receive_output(timeout=3))["code"] == 4401


async def test_other_first_message_than_auth_is_closed_with_4401(connect, token):
    ws = await connect("AAPL")
    await ws.send_json_to({"subscribe": ["MSFT"]})
    assert (await ws.receive_json_from(timeout=3))["code"] == 4401
    assert (await ws.receive_output(timeout=3))["code"] == 4401


async def test_token_in_first_message_is_accepted_and_gets_a_snapshot(
    connect, token, scripted_feed
):
    ws = await connect("aapl")
    await ws.send_json_to({"type": "auth", "token": token})
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["ticker"] == "AAPL"
    assert snapshot["price"] is None and snapshot["history"] == []


async def test_session_cookie_authenticates(connect, session_cookie, scripted_feed):
    ws = await connect("MSFT", headers=[ORIGIN, session_cookie])
    assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"


async def test_foreign_origin_is_refused(connect, session_cookie):
    ws = await connect("AAPL", headers=[(b"origin", b"http://evil.example"), session_cookie])
    assert ws.connected is False


async def test_missing_origin_is_refused(connect, session_cookie):
    ws = await connect("AAPL", headers=[session_cookie])
    assert ws.connected is False


async def test_invalid_ticker_is_closed_with_4400_and_reason(connect, session_cookie):
    ws = await connect("BAD$TICKER", headers=[ORIGIN, session_cookie])
    error = await ws.receive_json_from(timeout=3)
    assert error["error"] == "invalid_ticker" and error["code"] == 4400
    assert "not a valid ticker" in error["reason"]
    closed = await ws.receive_output(timeout=3)
    assert closed["code"] == 4400 and "not a valid ticker" in closed["reason"]


async def test_snapshot_carries_price_average_history_and_alerts(
    connect, session_cookie, scripted_feed
):
    first = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await first.receive_json_from(timeout=5)
    provider = scripted_feed.provider
    for i in range(10):
        await provider.push("AAPL", 100.0 + i * 0.1, T0 + timedelta(seconds=i))
    await provider.push("AAPL", 110.0, T0 + timedelta(seconds=10))  # +9 %: an alert
    await receive_until(first, lambda m: m["type"] == "alert")

    second = await connect("AAPL", headers=[ORIGIN, session_cookie])
    snapshot = await second.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["price"] == 110.0
    prices = [100.0 + i * 0.1 for i in range(10)] + [110.0]
    assert snapshot["moving_average"] == pytest.approx(sum(prices) / len(prices))
    assert snapshot["change_pct"] == pytest.approx(10.0)
    assert [p["price"] for p in snapshot["history"]] == pytest.approx(prices)
    assert snapshot["history"][0]["time"] == int(T0.timestamp())
    assert [a["direction"] for a in snapshot["alerts"]] == ["up"]
    assert snapshot["alerts"][0]["scope"] == "global"
    assert snapshot["status"]["state"] == "connected"


async def test_ticks_and_alerts_reach_the_socket(connect, session_cookie, scripted_feed):
    ws = await connect("TSLA", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    provider = scripted_feed.provider
    await provider.subscribed.wait()
    await provider.push("TSLA", 400.0, T0)
    tick = (await receive_until(ws, lambda m: m["type"] == "tick"))[-1]
    assert tick["ticker"] == "TSLA" and tick["price"] == 400.0
    assert tick["timestamp"] == format_timestamp(T0)
    assert tick["moving_average"] == 400.0 and tick["change_pct"] == 0.0

    await provider.push("TSLA", 388.0, T0 + timedelta(seconds=5))  # -3 %
    seen = await receive_until(ws, lambda m: m["type"] == "alert")
    alert = seen[-1]
    assert alert["direction"] == "down"
    assert alert["change_pct"] == pytest.approx(-3.0)
    assert alert["reference_price"] == 400.0 and alert["price"] == 388.0
    assert alert["message"] == "📉 Price Drop Alert: TSLA decreased by 3.0% in 1 minute!"
    # The spike's price is published before its alert.
    assert [m["price"] for m in seen if m["type"] == "tick"][-1] == 388.0


async def test_one_socket_subscribes_and_unsubscribes_several_tickers(
    connect, session_cookie, scripted_feed
):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"subscribe": ["msft", "NVDA", "bad ticker!"]})
    seen = await receive_until(
        ws, lambda m: m["type"] == "snapshot" and m["ticker"] == "NVDA", timeout=5
    )
    kinds = [(m["type"], m.get("ticker")) for m in seen]
    assert ("error", "bad ticker!") in kinds
    assert ("subscribed", None) in kinds
    assert ("snapshot", "MSFT") in kinds and ("snapshot", "NVDA") in kinds

    provider = scripted_feed.provider
    await provider.push("MSFT", 420.0, T0)
    await provider.push("NVDA", 140.0, T0)
    ticks = {}
    async with asyncio.timeout(5):
        while len(ticks) < 2:
            message = await ws.receive_json_from()
            if message["type"] == "tick":
                ticks[message["ticker"]] = message["price"]
    assert ticks == {"MSFT": 420.0, "NVDA": 140.0}

    await ws.send_json_to({"unsubscribe": ["MSFT"]})
    seen = await receive_until(ws, lambda m: m["type"] == "unsubscribed")
    assert seen[-1] == {"type": "unsubscribed", "tickers": ["MSFT"]}
    await provider.push("MSFT", 421.0, T0 + timedelta(seconds=1))
    await provider.push("AAPL", 230.0, T0 + timedelta(seconds=1))
    seen = await receive_until(ws, lambda m: m["type"] == "tick" and m["ticker"] == "AAPL")
    assert all(m.get("ticker") != "MSFT" for m in seen)


async def test_too_many_tickers_on_one_socket_is_an_error(
    connect, session_cookie, settings, scripted_feed
):
    settings.LIVE_WS_MAX_TICKERS = 2
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"subscribe": ["MSFT", "NVDA"]})
    seen = await receive_until(ws, lambda m: m["type"] == "error")
    assert seen[-1]["error"] == "too_many_tickers"
    assert not any(m["type"] == "snapshot" for m in seen)


async def test_provider_status_reaches_clients(connect, session_cookie, scripted_feed):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await scripted_feed.provider.subscribed.wait()
    await scripted_feed.provider.push_status(ProviderState.RECONNECTING, "source went away")
    status = (
        await receive_until(ws, lambda m: m["type"] == "status" and m["state"] == "reconnecting")
    )[-1]
    assert status["reason"] == "source went away" and status["provider"] == "scripted"


async def test_malformed_message_after_auth_is_an_error_not_a_crash(
    connect, session_cookie, scripted_feed
):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await ws.send_to(text_data="{not json")
    seen = await receive_until(ws, lambda m: m["type"] == "error")
    assert seen[-1]["error"] == "bad_message"
    await ws.send_json_to({"type": "ping"})
    assert (await receive_until(ws, lambda m: m["type"] != "status"))[-1] == {"type": "pong"}


async def test_a_feed_that_cannot_start_is_reported_in_the_snapshot(
    connect, session_cookie, settings
):
    settings.FEED_IN_PROCESS = True
    settings.MARKET_DATA_PROVIDER = "replay"
    settings.MARKET_REPLAY_FILE = ""
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    snapshot = await ws.receive_json_from(timeout=10)
    assert snapshot["type"] == "snapshot" and snapshot["price"] is None
    assert snapshot["status"]["state"] == "stale"
    assert "MARKET_REPLAY_FILE" in snapshot["status"]["reason"]
