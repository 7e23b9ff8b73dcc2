import numpy as np
import pandas as pd
import pytest

from tradepulse.backtest.indicators import ema, ema_full, linear_recurrence, sma, sma_many


@pytest.fixture(scope="module")
def wandering_prices() -> np.ndarray:
    # Prices spanning several orders of magnitude stress the running-sum precision.
    rng = np.random.default_rng(7)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200_000)))


@pytest.mark.parametrize("n", [1, 2, 5, 20, 255, 256, 257, 1000])
def test_sma_matches_pandas_rolling_mean(wandering_prices, n):
    expected = pd.Series(wandering_prices).rolling(n).mean().to_numpy()
    got = sma(wandering_prices, n)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[n - 1 :], expected[n - 1 :], rtol=1e-10)


def test_sma_is_nan_for_the_first_n_minus_1_bars_and_when_series_is_short():
    assert np.isnan(sma([1.0, 2.0, 3.0, 4.0], 3)[:2]).all()
    assert sma([1.0, 2.0, 3.0, 4.0], 3)[2:].tolist() == [2.0, 3.0]
    assert np.isnan(sma([1.0, 2.0], 3)).all()


@pytest.mark.parametrize("n", [1, 2, 3, 12, 26, 100, 500])
def test_ema_full_matches_pandas_ewm_adjust_false(wandering_prices, n):
    expected = pd.Series(wandering_prices).ewm(span=n, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(ema_full(wandering_prices, n), expected, rtol=1e-12)


def test_ema_hides_the_warmup_but_keeps_pandas_values_after_it(wandering_prices):
    got = ema(wandering_prices[:100], 10)
    expected = pd.Series(wandering_prices[:100]).ewm(span=10, adjust=False).mean().to_numpy()
    assert np.isnan(got[:9]).all()
    np.testing.assert_allclose(got[9:], expected[9:], rtol=1e-12)


def test_linear_recurrence_equals_the_loop():
    rng = np.random.default_rng(3)
    u = rng.normal(size=5000)
    for decay in (0.0, 0.3, 0.9, 0.999):
        y, prev, ref = 2.5, 2.5, []
        for value in u:
            prev = decay * prev + value
            ref.append(prev)
        np.testing.assert_allclose(linear_recurrence(u, decay, y), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_windows_must_be_whole_numbers_of_at_least_one(bad):
    with pytest.raises(ValueError):
        sma([1.0, 2.0], bad)


def test_sma_many_gives_each_window_the_same_bits_as_sma_alone(wandering_prices):
    windows = [1, 3, 10, 20, 64, 100]
    together = sma_many(wandering_prices, windows)
    for n, got in zip(windows, together, strict=True):
        assert np.array_equal(got, sma(wandering_prices, n), equal_nan=True)


def test_an_sma_value_depends_on_its_window_alone(wandering_prices):
    # Bit for bit: the value at a bar is the same whatever history comes before the window.
    full = sma(wandering_prices, 20)
    for end in (20, 1000, 150_000):
        assert sma(wandering_prices[end - 20 : end], 20)[-1] == full[end - 1]
