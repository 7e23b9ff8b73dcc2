"""Paper trading end to end: replayed ticks -> the sink -> the ledger, equal to the backtest of
the same bars; restarts and replays never duplicate a fill; the sessions API."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from algo.models import PaperBar, PaperSession
from algo.paper import PaperSessionsSink
from ledger.models import Trade
from tests.tradepulse.paper_ticks import ticks_for_bars
from tradepulse.backtest import MovingAverageCrossover, backtest, bars_from_ticks

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"ticker": "AAPL", "fast": 5, "slow": 20, "bar": "1m", "cash": 10_000, "commission": 0.001}


def expected_fills(ticks, *, fast=5, slow=20, commission=0.001, allow_short=False):
    """(side, quantity, price, bar time) of each fill the backtest of the ticks' bars makes."""
    bars = bars_from_ticks(ticks, "1min")
    result = backtest(
        bars, MovingAverageCrossover(fast, slow, "sma", allow_short), commission=commission
    )
    rows = []
    for t in result.trades.itertuples():
        size = int(t.size)
        rows.append((int(t.entry_bar), 1, "buy" if size > 0 else "sell", abs(size), t.entry_price))
        rows.append((int(t.exit_bar), 0, "sell" if size > 0 else "buy", abs(size), t.exit_price))
    if result.open_trade:
        o = result.open_trade
        size = int(o["size"])
        rows.append(
            (int(o["entry_bar"]), 1, "buy" if size > 0 else "sell", abs(size), o["entry_price"])
        )
    rows.sort()
    return [
        (side, Decimal(qty), Decimal(repr(float(price))), bars.index[bar].to_pydatetime())
        for bar, _, side, qty, price in rows
    ]


def ledger_fills(session_id):
    trades = Trade.objects.filter(source="paper", source_ref__startswith=f"{session_id}:")
    rows = []
    for t in trades.order_by("timestamp", "id"):
        bar_start = t.timestamp.replace(second=0, microsecond=0)
        rows.append((t.side, t.quantity, t.price, bar_start))
    return rows


def start_session(api, **overrides):
    response = api.post("/api/paper-sessions/", {**PARAMS, **overrides}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


async def feed(sink, ticks):
    for tick in ticks:
        await sink.on_tick(tick)


async def test_replayed_ticks_make_exactly_the_backtest_trades_in_the_ledger(api):
    session = await database_sync_to_async(start_session)(api)
    ticks = ticks_for_bars(400, seed=5, gaps=(77,))
    sink = PaperSessionsSink()
    await sink.start()
    assert sink.tickers() == {"AAPL"}
    await feed(sink, ticks)
    await sink.stop()

    expected = expected_fills(ticks)
    assert len(expected) > 6
    got = await database_sync_to_async(ledger_fills)(session["id"])
    assert got == expected
    refs = await database_sync_to_async(
        lambda: list(Trade.objects.filter(source="paper").values_list("source_ref", flat=True))
    )()
    assert all(ref.startswith(f"{session['id']}:") for ref in refs)

    # The ledger API lists them as paper trades.
    listed = await database_sync_to_async(lambda: api.get("/api/trades/?page_size=1000").json())()
    assert {row["source"] for row in listed["results"]} == {"paper"}
    assert len(listed["results"]) == len(expected)


async def test_a_restart_mid_series_and_a_full_replay_add_no_duplicate(api):
    session = await database_sync_to_async(start_session)(api)
    ticks = ticks_for_bars(400, seed=5)
    first = PaperSessionsSink()
    await first.start()
    await feed(first, ticks[:777])
    await first.stop()
    bars_saved = await database_sync_to_async(
        PaperBar.objects.filter(session_id=session["id"]).count
    )()
    assert bars_saved == 777 // 4  # every closed bar is persisted

    # The feed restarts; its provider replays the whole series from the start, twice.
    second = PaperSessionsSink()
    await second.start()
    await feed(second, ticks)
    await feed(second, ticks)
    await second.stop()

    got = await database_sync_to_async(ledger_fills)(session["id"])
    assert got == expected_fills(ticks)


async def test_the_live_feed_runs_api_sessions_over_the_replay_provider(api, tmp_path, settings):
    from live.feed import FeedConfig, FeedRunner
    from tradepulse.market import create_provider

    session = await database_sync_to_async(start_session)(api)
    ticks = ticks_for_bars(300, seed=5)
    path = tmp_path / "ticks.csv"
    path.write_text(
        "ticker,timestamp,price\n"
        + "".join(f"{t.ticker},{t.timestamp.isoformat()},{t.price!r}\n" for t in ticks)
    )

    async def run_feed_once():
        sink = PaperSessionsSink()
        runner = FeedRunner(
            create_provider("replay", path=str(path), speed=0),
            InMemoryChannelLayer(),
            config=FeedConfig(start_wait=0.1),
            sinks=[sink],
        )
        task = asyncio.create_task(runner.run())
        async with asyncio.timeout(20):
            while runner.ticks_received < len(ticks):
                await asyncio.sleep(0.02)
        await runner.stop()
        await task

    await run_feed_once()
    await run_feed_once()  # a reconnect that replays everything again

    got = await database_sync_to_async(ledger_fills)(session["id"])
    assert got == expected_fills(ticks)


async def test_a_stopped_session_trades_no_more(api):
    session = await database_sync_to_async(start_session)(api)
    ticks = ticks_for_bars(400, seed=5)
    sink = PaperSessionsSink()
    await sink.start()
    await feed(sink, ticks[:700])
    await sink.flush()
    before = await database_sync_to_async(Trade.objects.count)()
    stopped = await database_sync_to_async(
        lambda: api.delete(f"/api/paper-sessions/{session['id']}/")
    )()
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    await sink.refresh()
    assert sink.tickers() == set()
    await feed(sink, ticks[700:])
    await sink.stop()
    assert await database_sync_to_async(Trade.objects.count)() == before


async def test_session_detail_shows_position_cash_equity_and_pnl(api):
    session = await database_sync_to_async(start_session)(api, commission=0)
    ticks = ticks_for_bars(400, seed=5)
    sink = PaperSessionsSink()
    await sink.start()
    await feed(sink, ticks)
    await sink.stop()
    detail = await database_sync_to_async(
        lambda: api.get(f"/api/paper-sessions/{session['id']}/").json()
    )()

    bars = bars_from_ticks(ticks, "1min")
    result = backtest(bars, MovingAverageCrossover(5, 20))
    final_equity = float(result.equity.iloc[-1])
    assert Decimal(detail["equity"]) == pytest.approx(Decimal(f"{final_equity:.8f}"))
    assert Decimal(detail["pnl"]) == pytest.approx(Decimal(f"{final_equity - 10_000:.8f}"))
    open_trade = result.open_trade
    assert detail["position"] == (open_trade["size"] if open_trade else 0)
    if open_trade:
        cash = final_equity - open_trade["size"] * float(bars["Close"].iloc[-1])
        assert float(detail["cash"]) == pytest.approx(cash)
    assert detail["last_price"] == format(Decimal(repr(ticks[-1].price)).normalize(), "f")
    assert detail["fills"] == len(expected_fills(ticks, commission=0))
    assert detail["bars"] == len(bars) - 1


def test_start_validates_every_field(api):
    cases = [
        ({"bar": "2s"}, "bar"),
        ({"bar": "weekly"}, "bar"),
        ({"fast": 30}, "fast"),
        ({"kind": "hma"}, "kind"),
        ({"ticker": ""}, "ticker"),
        ({"ticker": "no way"}, "ticker"),
        ({"quantity": 0}, "quantity"),
        ({"cash": 0}, "cash"),
    ]
    for override, field in cases:
        response = api.post("/api/paper-sessions/", {**PARAMS, **override}, format="json")
        assert response.status_code == 400, override
        assert list(response.json()) == [field], override
    assert PaperSession.objects.count() == 0


def test_sessions_belong_to_their_user(api, other_api, anon):
    session = start_session(api)
    assert other_api.get(f"/api/paper-sessions/{session['id']}/").status_code == 404
    assert other_api.delete(f"/api/paper-sessions/{session['id']}/").status_code == 404
    assert other_api.get("/api/paper-sessions/").json()["results"] == []
    assert anon.get("/api/paper-sessions/").status_code in (401, 403)
    mine = api.get("/api/paper-sessions/").json()["results"]
    assert [s["id"] for s in mine] == [session["id"]]
    assert mine[0]["status"] == "running" and mine[0]["runner"] == "feed"
    assert mine[0]["equity"] == "10000" and mine[0]["position"] == 0


def test_the_feed_sink_is_configured_by_default():
    from django.conf import settings

    assert "algo.paper.PaperSessionsSink" in settings.FEED_TICK_SINKS
