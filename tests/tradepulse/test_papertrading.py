"""The paper trader against the backtester on the same bars, and its restart behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from tests.tradepulse.paper_ticks import T0, ticks_for_bars
from tradepulse.backtest import MovingAverageCrossover, backtest, bars_from_ticks
from tradepulse.errors import SettingError
from tradepulse.market import Tick
from tradepulse.papertrading import PaperTrader, parse_interval


def expected_fills(result) -> list[tuple]:
    """The backtest's trades as (bar, leg, units, price) fills, exits before entries."""
    rows = []
    for t in result.trades.itertuples():
        rows.append((int(t.entry_bar), "entry", abs(int(t.size)), float(t.entry_price)))
        rows.append((int(t.exit_bar), "exit", abs(int(t.size)), float(t.exit_price)))
    if result.open_trade:
        o = result.open_trade
        rows.append((int(o["entry_bar"]), "entry", abs(int(o["size"])), float(o["entry_price"])))
    return sorted(rows, key=lambda r: (r[0], r[1] != "exit"))


def run_trader(trader: PaperTrader, ticks) -> list:
    fills = []
    for tick in ticks:
        fills += trader.on_tick(tick.price, tick.timestamp, tick.volume).fills
    return fills


def as_rows(fills) -> list[tuple]:
    return [(f.bar_index, f.leg, f.quantity, f.price) for f in fills]


@pytest.mark.parametrize(
    ("kind", "allow_short", "commission"),
    [("sma", False, 0.0), ("ema", False, 0.002), ("sma", True, 0.001), ("ema", True, 0.0)],
)
def test_paper_fills_are_the_backtest_trades_of_the_same_bars(kind, allow_short, commission):
    ticks = ticks_for_bars(700, seed=5, gaps=(40, 41, 333))
    bars = bars_from_ticks(ticks, "1min")
    result = backtest(
        bars, MovingAverageCrossover(5, 20, kind, allow_short), cash=10_000, commission=commission
    )
    trader = PaperTrader.crossover(
        fast=5, slow=20, kind=kind, allow_short=allow_short, interval="1m", commission=commission
    )
    fills = run_trader(trader, ticks)
    assert len(result.trades) > 5
    assert as_rows(fills) == expected_fills(result)
    # Entry fills are stamped with the tick that opened their bar.
    for fill in fills:
        assert fill.bar_time == bars.index[fill.bar_index].to_pydatetime()
    assert trader.equity() == pytest.approx(float(result.equity.iloc[-1]), rel=1e-12)
    assert trader.bar_count == len(bars) - 1  # the last bar is still open


def test_bars_are_aggregated_like_bars_from_ticks():
    ticks = ticks_for_bars(50, seed=2, step_seconds=300, gaps=(7,))
    trader = PaperTrader.crossover(fast=2, slow=5, interval="5m")
    closed = []
    for tick in ticks:
        closed += trader.on_tick(tick.price, tick.timestamp).closed
    bars = bars_from_ticks(ticks, "5min")
    frame = pd.DataFrame(
        [(b.open, b.high, b.low, b.close) for b in closed], columns=["Open", "High", "Low", "Close"]
    )
    pd.testing.assert_frame_equal(
        frame, bars[["Open", "High", "Low", "Close"]].iloc[:-1].reset_index(drop=True)
    )
    assert [b.time for b in closed] == list(bars.index[:-1].to_pydatetime())


def test_fixed_quantity_trades_that_many_units():
    ticks = ticks_for_bars(400, seed=5)
    trader = PaperTrader.crossover(fast=5, slow=20, interval="1m", quantity=7)
    fills = run_trader(trader, ticks)
    assert fills and {f.quantity for f in fills} == {7}
    reference = PaperTrader.crossover(fast=5, slow=20, interval="1m")
    ref_fills = run_trader(reference, ticks)
    assert [(f.bar_index, f.leg, f.side) for f in fills] == [
        (f.bar_index, f.leg, f.side) for f in ref_fills
    ]


def test_a_fixed_quantity_the_cash_cannot_pay_is_skipped():
    ticks = ticks_for_bars(400, seed=5)
    trader = PaperTrader.crossover(fast=5, slow=20, interval="1m", cash=500, quantity=10)
    assert run_trader(trader, ticks) == []


def test_older_ticks_are_ignored_so_a_replay_adds_no_fill():
    ticks = ticks_for_bars(300, seed=9)
    trader = PaperTrader.crossover(fast=5, slow=20, interval="1m")
    first = run_trader(trader, ticks)
    state = trader.snapshot()
    again = run_trader(trader, ticks[:-1])
    assert first and again == []
    assert trader.snapshot() == state


def test_restored_trader_continues_exactly_where_it_stopped():
    ticks = ticks_for_bars(600, seed=11)
    whole = run_trader(
        PaperTrader.crossover(fast=5, slow=20, interval="1m", commission=0.001), ticks
    )

    first = PaperTrader.crossover(fast=5, slow=20, interval="1m", commission=0.001)
    cut = 1234  # mid-bar
    fills = run_trader(first, ticks[:cut])
    state, closes = first.snapshot(), list(first.closes)
    second = PaperTrader.crossover(fast=5, slow=20, interval="1m", commission=0.001)
    second.restore(state, closes)
    # The provider replays from the start after the restart: old ticks are dropped.
    fills += run_trader(second, ticks)
    assert as_rows(fills) == as_rows(whole)


def test_restore_refuses_bars_that_do_not_match_the_state():
    trader = PaperTrader.crossover(fast=2, slow=3, interval="1m")
    run_trader(trader, ticks_for_bars(20, seed=1))
    with pytest.raises(ValueError, match="persisted bars"):
        PaperTrader.crossover(fast=2, slow=3).restore(trader.snapshot(), trader.closes[:-1])


def test_a_short_that_loses_the_account_is_closed_at_the_close_and_trading_stops():
    # Rising, then a death cross at bar 5 (short from bar 6's open at 90), then bar 6 closes
    # at 200: the short loses more than the account.
    opens_closes = [(p, p) for p in (100.0, 101.0, 102.0, 103.0, 104.0, 90.0)]
    opens_closes += [(90.0, 200.0)] + [(200.0, 200.0)] * 5
    ticks = []
    for i, (open_, close) in enumerate(opens_closes):
        at = T0 + timedelta(minutes=i)
        ticks.append(Tick("X", open_, at + timedelta(seconds=1)))
        ticks.append(Tick("X", close, at + timedelta(seconds=30)))
    bars = bars_from_ticks(ticks, "1min")
    result = backtest(bars, MovingAverageCrossover(2, 3, allow_short=True), cash=1_000)
    trader = PaperTrader.crossover(fast=2, slow=3, allow_short=True, interval="1m", cash=1_000)
    fills = run_trader(trader, ticks)
    assert trader.halted
    # Entry at bar 6's open, stop-out at the same bar's close.
    assert as_rows(fills) == [(6, "entry", 11, 90.0), (6, "exit", 11, 200.0)]
    assert sorted(as_rows(fills)) == sorted(expected_fills(result))
    assert result.equity.iloc[-1] == 0.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5), ("1m", 60), ("5m", 300), ("1h", 3600), ("1d", 86400)]
)
def test_bar_intervals_from_5_seconds_to_a_day_are_accepted(text, seconds):
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    # Digits of other scripts, and a run of digits longer than int() converts.
    "text",
    ["1s", "2d", "m", "1 week", "", "-5m", "\u0661m", "9" * 5000 + "s"],
)
def test_other_bar_intervals_are_refused_naming_the_bar(text):
    with pytest.raises(SettingError) as info:
        parse_interval(text)
    assert info.value.field == "bar"


@pytest.mark.parametrize(
    ("options", "field"),
    [({"cash": 0}, "cash"), ({"commission": 0.5}, "commission"), ({"quantity": 0}, "quantity")],
)
def test_bad_money_settings_name_their_field(options, field):
    with pytest.raises(SettingError) as info:
        PaperTrader.crossover(fast=2, slow=3, **options)
    assert info.value.field == field


def test_naive_tick_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        PaperTrader.crossover(fast=2, slow=3).on_tick(1.0, datetime(2025, 1, 1))


def test_settings_out_of_range_name_their_field_instead_of_overflowing():
    from tradepulse.broker import MAX_QUANTITY
    from tradepulse.papertrading import PaperTrader, parse_interval

    for text in ("99999999999999999999s", "9" * 400 + "d"):
        with pytest.raises(SettingError) as caught:
            parse_interval(text)
        assert caught.value.field == "bar"
    for kwargs, field in (
        ({"cash": 1e300}, "cash"),
        ({"cash": 0.0}, "cash"),
        ({"quantity": MAX_QUANTITY + 1}, "quantity"),
    ):
        with pytest.raises(SettingError) as caught:
            PaperTrader.crossover(fast=2, slow=5, **kwargs)
        assert caught.value.field == field
