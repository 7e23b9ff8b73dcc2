"""The whole-file scan finds exactly the alerts the tick-by-tick detector raises."""

import numpy as np
import pytest

from tradepulse.alerts import AlertEngine, SpikeDetector
from tradepulse.alerts.batch import scan_columns, scan_series
from tradepulse.alerts.timebase import from_micros
from tradepulse.market import Tick
from tradepulse.market.tickcolumns import TickColumns

T0 = 1_737_383_400_000_000  # 2025-01-20T14:30:00Z in microseconds


def _series(rng, n, *, late=False, bad=False, decimals=2):
    steps = rng.integers(0, 3_000_000, n)
    if late:
        steps = steps - rng.integers(0, 2_000_000, n)
    t = T0 + np.cumsum(steps).astype(np.int64)
    price = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), decimals)
    price[price <= 0] = 1.0
    if bad:
        price[rng.integers(0, n, 3)] = rng.choice([-1.0, 0.0, np.nan, np.inf])
    return t, price


def _detector_hits(t, price, threshold, window):
    detector = SpikeDetector("AAPL", threshold, window)
    hits = []
    for i, (p, when) in enumerate(zip(price.tolist(), t.tolist(), strict=True)):
        alert = detector.update_us(p, when)
        if alert is not None:
            hits.append((i, alert.direction, alert.reference_price, alert.price))
    return hits, detector


@pytest.mark.parametrize("seed", range(40))
def test_series_scan_raises_the_detectors_alerts(seed):
    rng = np.random.default_rng(seed)
    t, price = _series(
        rng, int(rng.integers(1, 500)), late=seed % 3 == 0, bad=seed % 5 == 0, decimals=seed % 4
    )
    threshold = float(rng.choice([0.005, 0.01, 0.02, 0.05]))
    window = float(rng.choice([0.5, 5.0, 30.0, 60.0]))
    expected, detector = _detector_hits(t, price, threshold, window)
    result = scan_series(t, price, threshold, window)
    hits = [(h.position, h.direction, h.reference_price, h.price) for h in result.hits]
    assert hits == expected
    assert result.dropped_out_of_order == detector.dropped_out_of_order
    assert result.rejected == detector.rejected


def test_a_price_that_stays_up_alerts_once_and_a_move_from_there_alerts_again():
    # 100 -> 103 alerts; staying at 103 does not; 103 -> 105.1 (+2.04 %) does.
    t = T0 + np.arange(6, dtype=np.int64) * 1_000_000
    price = np.array([100.0, 103.0, 103.0, 103.0, 104.0, 105.1])
    result = scan_series(t, price, 0.02, 60.0)
    assert [(h.position, h.direction, h.reference_price) for h in result.hits] == [
        (1, "up", 100.0),
        (5, "up", 103.0),
    ]


def test_columns_scan_gives_the_engines_alerts_in_file_order():
    rng = np.random.default_rng(7)
    n = 3_000
    codes = rng.integers(0, 3, n)
    t = T0 + np.cumsum(rng.integers(0, 400_000, n)).astype(np.int64)
    price = np.empty(n)
    for code in range(3):
        rows = np.flatnonzero(codes == code)
        price[rows] = np.round(
            50 * (code + 1) * np.exp(np.cumsum(rng.normal(0, 0.006, len(rows)))), 2
        )
    columns = TickColumns(["AAPL", "MSFT", "BTC-USD"], codes, t, price, np.full(n, np.nan))
    engine = AlertEngine(0.01, 30.0, average_window=None)
    expected = []
    for code, when, p in zip(codes.tolist(), t.tolist(), price.tolist(), strict=True):
        alert = engine.process(Tick(columns.tickers[code], p, from_micros(when)))
        if alert is not None:
            expected.append(alert)
    result = scan_columns(columns, 0.01, 30.0)
    assert len(expected) > 10
    assert result.alerts == expected
    assert result.dropped_out_of_order == engine.dropped_out_of_order
