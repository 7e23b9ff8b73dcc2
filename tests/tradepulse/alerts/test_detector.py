from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tradepulse.alerts.reference import RescanDetector
from tradepulse.alerts import SpikeAlert, SpikeDetector, describe_window, to_micros

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def feed(detector, *ticks):
    """Feed (seconds, price) pairs; return the alerts raised."""
    return [a for s, p in ticks if (a := detector.update(p, at(s))) is not None]


def test_two_percent_rise_from_the_windows_low_alerts_even_when_oldest_tick_is_higher():
    detector = SpikeDetector("AAPL")
    alerts = feed(detector, (0, 101.0), (10, 100.0), (20, 100.5), (30, 102.0))
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.direction, alert.reference_price, alert.price) == ("up", 100.0, 102.0)
    assert alert.change_pct == pytest.approx(2.0)
    assert alert.timestamp == at(30)
    assert alert.message() == "📈 Price Spike Alert: AAPL increased by 2.0% in 1 minute!"


def test_two_percent_drop_from_the_windows_high_alerts_with_signed_change():
    detector = SpikeDetector("MSFT")
    (alert,) = feed(detector, (0, 405.0), (5, 410.0), (50, 401.0))
    assert (alert.direction, alert.reference_price) == ("down", 410.0)
    assert alert.change_pct == pytest.approx((401 / 410 - 1) * 100)
    assert alert.message() == "📉 Price Drop Alert: MSFT decreased by 2.2% in 1 minute!"


def test_slow_drift_that_never_moves_two_percent_within_a_minute_does_not_alert():
    detector = SpikeDetector("AAPL")
    # +0.3 % every 10 s: 1.8 % per minute, 30 % over the whole run.
    ticks = [(10 * i, 100.0 * 1.003**i) for i in range(90)]
    assert feed(detector, *ticks) == []
    assert ticks[-1][1] / ticks[0][1] > 1.25


def test_tick_exactly_one_window_old_is_still_inside():
    detector = SpikeDetector("AAPL")
    assert len(feed(detector, (0.123, 100.0), (60.123, 102.0))) == 1


def test_tick_a_millisecond_past_the_window_is_outside():
    detector = SpikeDetector("AAPL")
    assert feed(detector, (0.123, 100.0), (60.124, 102.0)) == []


def test_one_alert_per_move_and_a_fresh_move_alerts_again():
    detector = SpikeDetector("AAPL")
    alerts = feed(
        detector,
        (0, 100.0),
        (10, 102.5),  # alert: +2.5 % from 100
        (20, 102.6),  # still up from 100, but the window restarted at 102.5
        (30, 102.4),
        (40, 103.0),
        (50, 104.6),  # +2.1 % from 102.4, the low since the alert
    )
    assert [(a.direction, a.reference_price) for a in alerts] == [("up", 100.0), ("up", 102.4)]
    assert detector.alerts == 2


def test_older_tick_is_dropped_and_counted_and_equal_time_is_accepted():
    detector = SpikeDetector("AAPL")
    feed(detector, (10, 100.0))
    assert feed(detector, (5, 50.0)) == []
    assert detector.dropped_out_of_order == 1
    # Same-time tick accepted; the dropped 50.0 never entered the window.
    (alert,) = feed(detector, (10, 102.0))
    assert alert.reference_price == 100.0
    assert detector.dropped_out_of_order == 1


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_prices_are_rejected_and_counted_without_raising(price):
    detector = SpikeDetector("AAPL")
    feed(detector, (0, 100.0))
    assert detector.update(price, at(1)) is None
    assert detector.rejected == 1
    assert len(feed(detector, (2, 102.0))) == 1


def test_threshold_and_window_are_configurable():
    detector = SpikeDetector("AAPL", threshold=0.05, window=30)
    assert feed(detector, (0, 100.0), (10, 104.0)) == []
    # 5.5 % above the first tick, but that tick has left the 30 s window.
    assert feed(detector, (35, 105.5)) == []
    (alert,) = feed(detector, (40, 109.3))
    assert alert.reference_price == 104.0
    assert alert.message() == "📈 Price Spike Alert: AAPL increased by 5.1% in 30 seconds!"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (60, "1 minute"),
        (30, "30 seconds"),
        (120, "2 minutes"),
        (90, "90 seconds"),
        (1, "1 second"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (5400, "90 minutes"),
        (0.5, "0.5 seconds"),
    ],
)
def test_window_in_words(seconds, words):
    assert describe_window(seconds) == words


def test_alert_wire_format_carries_the_message():
    alert = SpikeAlert("AAPL", "up", 2.44, 100.0, 102.44, 60.0, T0)
    wire = alert.to_wire()
    assert wire["message"] == "📈 Price Spike Alert: AAPL increased by 2.4% in 1 minute!"
    assert wire["timestamp"] == "2025-01-20T14:30:00.000000+00:00"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        SpikeDetector("AAPL", threshold=2)
    with pytest.raises(ValueError, match="window"):
        SpikeDetector("AAPL", window=0)


tick_steps = st.lists(
    st.tuples(
        st.integers(min_value=-2_000_000, max_value=20_000_000),  # microseconds to the next tick
        st.floats(min_value=-0.03, max_value=0.03),  # relative price move
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(
    steps=tick_steps,
    threshold=st.sampled_from([0.005, 0.02, 0.05]),
    window=st.sampled_from([1.0, 10.0, 60.0]),
)
def test_detector_matches_a_brute_force_rescan(steps, threshold, window):
    ours = SpikeDetector("AAPL", threshold, window)
    reference = RescanDetector(threshold, round(window * 1_000_000))
    t, price = to_micros(T0), 100.0
    for dt, move in steps:
        t += dt  # negative steps make out-of-order ticks
        price = max(price * (1 + move), 0.01)
        alert = ours.update_us(price, t)
        expected = reference.update(price, t)
        got = None if alert is None else (alert.direction, alert.reference_price)
        assert got == expected
