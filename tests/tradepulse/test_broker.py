"""One set of broker rules: the backtester and the paper trader refuse the same settings with
the same error, naming the field, and size entries alike."""

import pytest

from tradepulse import broker
from tradepulse.backtest import (
    DataError,
    MovingAverageCrossover,
    StrategyError,
    backtest,
    sweep,
    synthetic_bars,
)
from tradepulse.errors import SettingError
from tradepulse.papertrading import PaperTrader

BARS = synthetic_bars(60, seed=1)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"cash": 0}, "cash"),
        ({"cash": float("inf")}, "cash"),
        ({"cash": True}, "cash"),
        ({"commission": 0.1}, "commission"),
        ({"commission": -0.01}, "commission"),
    ],
)
def test_backtest_sweep_and_paper_refuse_a_setting_alike(settings, field):
    errors = []
    for run in (
        lambda: backtest(BARS, MovingAverageCrossover(2, 5), **settings),
        lambda: sweep(BARS, fast=[2], slow=[5], **settings),
        lambda: PaperTrader.crossover(fast=2, slow=5, **settings),
    ):
        with pytest.raises(SettingError) as caught:
            run()
        errors.append((caught.value.field, str(caught.value)))
    assert errors[0][0] == field
    assert errors == [errors[0]] * 3


def test_strategy_errors_name_their_parameter():
    with pytest.raises(StrategyError) as caught:
        MovingAverageCrossover(20, 10)
    assert caught.value.field == "fast"
    assert str(caught.value) == "fast (20) must be smaller than slow (10)"
    with pytest.raises(StrategyError) as caught:
        MovingAverageCrossover(2, 5, kind="wma")
    assert caught.value.field == "kind"


def test_too_few_bars_names_the_slow_window():
    with pytest.raises(DataError) as caught:
        backtest(BARS.iloc[:10], MovingAverageCrossover(5, 20))
    assert caught.value.field == "slow"
    assert caught.value.reason.startswith("10 bars are too few for MovingAverageCrossover(")


def test_entries_take_all_equity_in_whole_units_with_the_commission_inside():
    cost = broker.unit_cost(100.0, 0.01)
    assert broker.entry_units(10_000.0, cost) == 99  # 100 units would cost 10,100
    assert broker.entry_units(10_000.0, cost, quantity=5) == 5
    assert broker.entry_units(10_000.0, cost, quantity=100) == 0  # unaffordable: skipped
    assert broker.entry_units(-5.0, cost) == 0
