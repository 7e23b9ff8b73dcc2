from datetime import UTC, datetime, timedelta

import pytest

from tradepulse.alerts import AlertEngine, AlertRule
from tradepulse.market import Tick

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def tick(ticker, seconds, price):
    return Tick(ticker, price, T0 + timedelta(seconds=seconds))


def test_engine_keeps_one_window_per_ticker():
    engine = AlertEngine()
    assert engine.process(tick("AAPL", 0, 100.0)) is None
    assert engine.process(tick("MSFT", 1, 200.0)) is None
    assert engine.process(tick("MSFT", 2, 102.0)).direction == "down"
    alert = engine.process(tick("AAPL", 3, 102.0))
    assert (alert.ticker, alert.direction, alert.timestamp) == (
        "AAPL",
        "up",
        T0 + timedelta(seconds=3),
    )
    assert engine.tickers == ["AAPL", "MSFT"]


def test_per_ticker_overrides_replace_the_default_rule():
    engine = AlertEngine(overrides={"tsla": {"threshold": 0.05}, "AAPL": AlertRule(0.01, 30)})
    assert engine.rule_for("TSLA") == AlertRule(0.05, 60.0)
    assert engine.rule_for("AAPL") == AlertRule(0.01, 30)
    assert engine.rule_for("MSFT") == AlertRule()
    engine.process(tick("TSLA", 0, 100.0))
    assert engine.process(tick("TSLA", 1, 103.0)) is None
    engine.process(tick("AAPL", 0, 100.0))
    assert engine.process(tick("AAPL", 1, 101.0)).window_seconds == 30


def test_set_rule_at_runtime_restarts_that_tickers_window():
    engine = AlertEngine()
    engine.process(tick("AAPL", 0, 100.0))
    engine.set_rule("AAPL", threshold=0.01)
    assert engine.process(tick("AAPL", 1, 100.5)) is None  # fresh window starts at 100.5
    assert engine.process(tick("AAPL", 2, 101.6)).direction == "up"


def test_engine_tracks_moving_averages_and_counts_late_ticks():
    engine = AlertEngine(average_window=300)
    engine.process(tick("AAPL", 0, 100.0))
    engine.process(tick("AAPL", 10, 101.0))
    engine.process(tick("AAPL", 5, 50.0))  # late: dropped
    assert engine.average("aapl") == pytest.approx(100.5)
    assert engine.average("MSFT") is None
    assert engine.dropped_out_of_order == 1


def test_engine_refuses_bad_rules():
    with pytest.raises(ValueError):
        AlertEngine(threshold=0)
    with pytest.raises(ValueError, match="unknown alert rule field"):
        AlertEngine(overrides={"AAPL": {"treshold": 0.1}})
