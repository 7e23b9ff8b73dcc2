import json
import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tradepulse.backtest import (
    STAT_NAMES,
    BacktestError,
    DataError,
    MovingAverageCrossover,
    backtest,
    synthetic_bars,
)
from tradepulse.backtest import simulation as simulation_module
from tradepulse.backtest.stats import Calendar


@pytest.fixture(scope="module")
def bars():
    return synthetic_bars(1000, seed=21)


def test_signal_on_a_close_fills_at_the_next_open(bars):
    strategy = MovingAverageCrossover(5, 20)
    result = backtest(bars, strategy)
    target = strategy.target_positions(bars["Close"].to_numpy())
    first = result.trades.iloc[0]
    signal_bar = int(np.flatnonzero(target == 1)[0])
    assert first["entry_bar"] == signal_bar + 1
    assert first["entry_price"] == bars["Open"].iloc[signal_bar + 1]
    assert first["exit_price"] == bars["Open"].iloc[first["exit_bar"]]


def test_entries_buy_whole_units_with_all_equity_commission_included(bars):
    result = backtest(bars, MovingAverageCrossover(5, 20), cash=10_000, commission=0.01)
    first = result.trades.iloc[0]
    unit_cost = first["entry_price"] * 1.01
    assert first["size"] == math.floor(10_000 / unit_cost)
    expected_commission = first["size"] * (first["entry_price"] + first["exit_price"]) * 0.01
    assert first["commission"] == pytest.approx(expected_commission)
    assert first["pnl"] == pytest.approx(
        first["size"] * (first["exit_price"] - first["entry_price"]) - expected_commission
    )
    assert result.stats["commissions"] == pytest.approx(result.trades["commission"].sum())


def test_commission_lowers_the_outcome(bars):
    free = backtest(bars, MovingAverageCrossover(5, 20), commission=0.0)
    paid = backtest(bars, MovingAverageCrossover(5, 20), commission=0.005)
    assert paid.stats["commissions"] > 0 == free.stats["commissions"]
    assert paid.stats["equity_final"] < free.stats["equity_final"]


def test_short_trades_have_negative_size_and_alternate(bars):
    result = backtest(bars, MovingAverageCrossover(5, 20, allow_short=True))
    signs = np.sign(result.trades["size"]).tolist()
    assert -1 in signs and 1 in signs
    assert all(a != b for a, b in zip(signs, signs[1:], strict=False))
    # a reversal closes and opens on the same bar
    assert (
        result.trades["exit_bar"].iloc[:-1].to_numpy()
        == result.trades["entry_bar"].iloc[1:].to_numpy()
    ).all()


def test_no_trade_means_flat_equity_and_undefined_trade_stats():
    close = np.linspace(100, 200, 60)
    index = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    bars = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close}, index=index)
    result = backtest(bars, MovingAverageCrossover(3, 10))
    assert result.stats["trades"] == 0
    assert (result.equity == 10_000).all()
    assert math.isnan(result.stats["win_rate_pct"])
    assert result.stats["max_trade_duration"] is None
    assert result.stats["buy_hold_return_pct"] == pytest.approx((200 - close[9]) / close[9] * 100)


def test_json_dict_has_every_stat_and_is_strict_json(bars):
    result = backtest(bars, MovingAverageCrossover(5, 20), commission=0.002)
    data = result.to_json_dict()
    assert list(data) == list(STAT_NAMES)
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["start"] == "2000-01-03T00:00:00+00:00"
    assert back["duration"] == (bars.index[-1] - bars.index[0]).total_seconds()
    assert back["max_trade_duration"] == result.stats["max_trade_duration"].total_seconds()
    assert back["trades"] == len(result.trades)
    json.dumps(result.trades_json(), allow_nan=False)


def test_json_turns_nan_into_null():
    close = np.linspace(100, 200, 60)
    index = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    bars = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close}, index=index)
    data = backtest(bars, MovingAverageCrossover(3, 10)).to_json_dict()
    assert data["win_rate_pct"] is None and data["sqn"] is None
    json.dumps(data, allow_nan=False)


def test_too_few_bars_and_bad_money_are_refused(bars):
    with pytest.raises(DataError, match="too few"):
        backtest(bars.iloc[:10], MovingAverageCrossover(5, 20))
    with pytest.raises(BacktestError, match="cash"):
        backtest(bars, MovingAverageCrossover(5, 20), cash=0)
    with pytest.raises(BacktestError, match="commission"):
        backtest(bars, MovingAverageCrossover(5, 20), commission=0.5)


def test_drawdown_is_zero_at_peaks_and_matches_max_drawdown(bars):
    result = backtest(bars, MovingAverageCrossover(5, 20))
    dd = result.drawdown_pct
    assert dd.max() == 0
    assert dd.min() == pytest.approx(result.stats["max_drawdown_pct"])


def test_entries_the_cash_cannot_pay_for_are_skipped(bars):
    # One unit costs more than the account: every entry is skipped, as backtesting.py cancels
    # such orders, and the account stays in cash.
    result = backtest(bars, MovingAverageCrossover(5, 20, allow_short=True), cash=20.0)
    assert bars["Open"].min() > 20.0
    assert result.stats["trades"] == 0 and result.open_trade is None
    assert (result.equity == 20.0).all()
    assert result.stats["exposure_pct"] == 0.0


def test_equity_built_in_slices_equals_the_whole_curve_at_once(bars, monkeypatch):
    strategy = MovingAverageCrossover(5, 20, allow_short=True)
    whole = backtest(bars, strategy, commission=0.001)
    monkeypatch.setattr(simulation_module, "_EQUITY_CHUNK", 37)
    sliced = backtest(bars, strategy, commission=0.001)
    assert len(whole.trades) > 5
    assert np.array_equal(sliced.equity.to_numpy(), whole.equity.to_numpy())
    assert sliced.stats == whole.stats


@pytest.mark.parametrize(
    "spacing",
    ["1ns", "1us", "1ms", "1500ms", "1s", "90s", "1min", "15min", "1h", "1D", "7D", "31D", "365D"],
)
def test_the_calendar_reads_bar_spacing_as_pandas_does(spacing):
    # Durations are rounded up to the resolution of the spacing, and the spacing picks the
    # period of the Sharpe ratio; both come from plain nanoseconds, as pandas would read them.
    index = pd.date_range("2021-01-04", periods=150, freq=spacing, tz="UTC")
    calendar = Calendar.from_ns(index.as_unit("ns").asi8)
    step = pd.Timedelta(spacing)
    assert calendar.resolution == step.resolution_string
    assert calendar.period_rule == {7: "W", 31: "ME", 365: "YE"}.get(step.days, "D")


def test_statistics_are_plain_datetimes_and_timedeltas(bars):
    stats = backtest(bars, MovingAverageCrossover(5, 20)).stats
    assert stats["start"] == bars.index[0] and type(stats["start"]) is datetime
    assert stats["end"] == bars.index[-1]
    assert stats["duration"] == bars.index[-1] - bars.index[0]
    assert type(stats["max_trade_duration"]) is timedelta
