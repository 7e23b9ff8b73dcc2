import numpy as np
import pytest

from tradepulse.backtest import MovingAverageCrossover, StrategyError, synthetic_bars
from tradepulse.backtest import strategies as strategies_module
from tradepulse.backtest.strategies import crossings


def test_crosses_are_strict_and_nan_never_crosses():
    fast = np.array([np.nan, 1.0, 2.0, 2.0, 3.0, 1.0, 2.0])
    slow = np.array([np.nan, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    golden, death = crossings(fast, slow)
    # 1<2 then 2==2: touching is no cross; 2==2 then 3>2: no cross (not strictly below before).
    assert golden.tolist() == [False] * 7
    assert death.tolist() == [False, False, False, False, False, True, False]
    golden, death = crossings(np.array([1.0, 3.0, 1.0]), np.array([np.nan, 2.0, 2.0]))
    assert not golden.any()
    assert death.tolist() == [False, False, True]


def test_long_only_holds_from_golden_to_death_cross():
    fast = np.array([1.0, 3.0, 3.0, 1.0, 1.0, 3.0])
    slow = np.full(6, 2.0)
    strategy = MovingAverageCrossover(2, 3)
    assert strategy.positions_from_averages(fast, slow).tolist() == [0, 1, 1, 0, 0, 1]


def test_allow_short_reverses_on_every_cross():
    fast = np.array([3.0, 1.0, 1.0, 3.0, 3.0, 1.0])
    slow = np.full(6, 2.0)
    strategy = MovingAverageCrossover(2, 3, allow_short=True)
    assert strategy.positions_from_averages(fast, slow).tolist() == [0, -1, -1, 1, 1, -1]


def test_target_positions_is_causal_so_a_live_runner_sees_the_same_decisions():
    close = synthetic_bars(400, seed=11)["Close"].to_numpy()
    strategy = MovingAverageCrossover(5, 20, "ema", allow_short=True)
    full = strategy.target_positions(close)
    live = [strategy.target_positions(close[: t + 1])[-1] for t in range(len(close))]
    assert live == full.tolist()
    assert set(full.tolist()) == {-1, 0, 1}


def test_no_position_before_the_slow_average_exists():
    close = synthetic_bars(300, seed=5)["Close"].to_numpy()
    strategy = MovingAverageCrossover(3, 50)
    assert not strategy.target_positions(close)[:50].any()
    assert strategy.warmup == 49


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fast": 20, "slow": 10}, "fast (20) must be smaller than slow (10)"),
        ({"fast": 10, "slow": 10}, "must be smaller"),
        ({"fast": 0, "slow": 10}, "fast must be >= 1"),
        ({"fast": 2.5, "slow": 10}, "fast must be a whole number"),
        ({"fast": 2, "slow": 10, "kind": "wma"}, "kind must be one of ema, sma"),
        ({"fast": 2, "slow": 10, "allow_short": "yes"}, "allow_short"),
    ],
)
def test_invalid_parameters_are_refused_with_a_message(kwargs, message):
    with pytest.raises(StrategyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        MovingAverageCrossover(**kwargs)


def test_parameters_are_attributes_and_listed():
    strategy = MovingAverageCrossover(5, 30, "ema", True)
    assert strategy.params() == {"fast": 5, "slow": 30, "kind": "ema", "allow_short": True}
    assert strategy == MovingAverageCrossover(5, 30, "ema", True)
    assert "fast=5" in repr(strategy)


@pytest.mark.parametrize("allow_short", [False, True])
def test_sma_targets_computed_in_slices_equal_those_from_whole_averages(monkeypatch, allow_short):
    monkeypatch.setattr(strategies_module, "_ORDER_CHUNK", 97)  # many slice boundaries
    close = synthetic_bars(5000, seed=8)["Close"].to_numpy()
    strategy = MovingAverageCrossover(7, 150, allow_short=allow_short)
    expected = strategy.positions_from_averages(*strategy.averages(close))
    assert expected.any()
    assert np.array_equal(strategy.target_positions(close), expected)
