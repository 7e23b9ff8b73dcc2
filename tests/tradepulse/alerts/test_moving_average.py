from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tradepulse.alerts.reference import rescan_mean
from tradepulse.alerts import MovingAverage

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def test_mean_covers_exactly_the_last_five_minutes():
    average = MovingAverage()
    average.update(10.0, T0)
    average.update(20.0, T0 + timedelta(seconds=100))
    assert average.update(30.0, T0 + timedelta(seconds=300)) == pytest.approx(20.0)
    # The first tick is now 300.000001 s old.
    assert average.update(40.0, T0 + timedelta(seconds=300, microseconds=1)) == pytest.approx(30.0)
    assert average.count == 3


def test_late_and_bad_ticks_leave_the_mean_unchanged_and_are_counted():
    average = MovingAverage(window=60)
    average.update(10.0, T0 + timedelta(seconds=10))
    assert average.update(99.0, T0) == 10.0
    assert average.update(float("nan"), T0 + timedelta(seconds=11)) == 10.0
    assert (average.dropped_out_of_order, average.rejected) == (1, 1)


def test_empty_average_has_no_value():
    assert MovingAverage().value is None


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30_000_000),
            st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
        ),
        min_size=1,
        max_size=400,
    ),
    window=st.sampled_from([1.0, 60.0, 300.0]),
)
def test_moving_average_matches_brute_force_on_random_ticks(steps, window):
    average = MovingAverage(window)
    seen = []
    t = 1_737_383_400_000_000
    for dt, price in steps:
        t += dt
        seen.append((price, t))
        got = average.update_us(price, t)
        assert got == pytest.approx(rescan_mean(seen, round(window * 1e6)), rel=1e-9)


def test_long_run_does_not_drift():
    # Prices of wildly different sizes make naive running sums lose precision.
    average = MovingAverage(window=10)
    t = 0
    seen = []
    for i in range(50_000):
        price = 1e9 if i % 7 == 0 else 0.001 * (i % 13 + 1)
        t += 1_000_000
        seen.append((price, t))
        got = average.update_us(price, t)
    assert got == pytest.approx(rescan_mean(seen[-20:], 10_000_000), rel=1e-12)
