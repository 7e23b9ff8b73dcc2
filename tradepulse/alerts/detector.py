"""Sliding-window spike detection on event time."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from tradepulse.market.ticks import Tick
from tradepulse.symbols import normalize_ticker

from .moving_average import MovingAverage
from .timebase import from_micros, seconds_to_micros, to_micros

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "TOLERANCE",
    "SpikeAlert",
    "AlertEngine",
    "AlertRule",
    "SpikeDetector",
    "describe_window",
]

DEFAULT_THRESHOLD = 0.02
DEFAULT_WINDOW = 60.0
# A move of exactly the threshold must alert even when float division lands a hair short
# (e.g. 1 - 98.0/100.0 is 0.020000000000000018 but 1.02 * x / x - 1 can be 0.0199999...).
TOLERANCE = 1e-9

_INF = math.inf


def describe_window(seconds: float) -> str:
    """Window length in words: 60 -> "1 minute", 120 -> "2 minutes", 90 -> "90 seconds"."""
    if seconds <= 0 or not math.isfinite(seconds):
        raise ValueError("window must be a positive number of seconds")
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    if seconds == 1:
        return "1 second"
    return f"{seconds:g} seconds"


def alert_text(ticker: str, direction: str, change_pct: float, window_seconds: float) -> str:
    """The alert line users know: ``📈 Price Spike Alert: AAPL increased by 2.4% in 1 minute!``."""
    size = f"{abs(change_pct):.1f}%"
    window = describe_window(window_seconds)
    if direction == "up":
        return f"📈 Price Spike Alert: {ticker} increased by {size} in {window}!"
    return f"📉 Price Drop Alert: {ticker} decreased by {size} in {window}!"


@dataclass(frozen=True, slots=True)
class SpikeAlert:
    """A price move of at least the threshold within the window.

    `change_pct` is signed, in percent: +2.4 for a 2.4 % rise, -2.1 for a 2.1 % drop,
    measured from `reference_price` (the window's low for a rise, its high for a drop) to
    `price`, the alerting tick. `timestamp` is the alerting tick's event time (aware UTC).
    """

    ticker: str
    direction: Literal["up", "down"]
    change_pct: float
    reference_price: float
    price: float
    window_seconds: float
    timestamp: datetime

    def message(self) -> str:
        return alert_text(self.ticker, self.direction, self.change_pct, self.window_seconds)

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready dict of every field plus the rendered `message`."""
        return {
            "ticker": self.ticker,
            "direction": self.direction,
            "change_pct": self.change_pct,
            "reference_price": self.reference_price,
            "price": self.price,
            "window_seconds": self.window_seconds,
            "timestamp": self.timestamp.isoformat(timespec="microseconds"),
            "message": self.message(),
        }


class SpikeDetector:
    """Spike and drop detector for one ticker over a sliding event-time window.

    Rule, for each accepted tick at time t with price p, over the window of accepted ticks
    with `t - window <= t_i <= t` (both edges included) since the last alert:

    - rise: `p / min(window) - 1 >= threshold` alerts "up";
    - drop: `1 - p / max(window) >= threshold` alerts "down";

    (each within `TOLERANCE`; both cannot hold at once). After an alert the window restarts
    at the alerting tick, so a price that stays up raises no second alert; only a fresh
    move of the threshold from there does.

    Bad input never raises: a tick older than the last accepted one is dropped and counted
    in `dropped_out_of_order` (equal times are accepted); a price that is not finite and
    positive is dropped and counted in `rejected`. Cost is O(1) amortised per tick
    (monotonic deques of candidate minima and maxima).
    """

    __slots__ = (
        "_drop_factor",
        "_last_t",
        "_maxima",
        "_minima",
        "_rise_factor",
        "_window_us",
        "alerts",
        "dropped_out_of_order",
        "rejected",
        "threshold",
        "ticker",
        "window_seconds",
    )

    def __init__(
        self, ticker: str, threshold: float = DEFAULT_THRESHOLD, window: float = DEFAULT_WINDOW
    ) -> None:
        if not 0 < threshold < 1:
            raise ValueError("threshold must be a fraction between 0 and 1 (0.02 = 2%)")
        if not 0 < window < _INF:
            raise ValueError("window must be a positive number of seconds")
        self.ticker = normalize_ticker(ticker)
        self.threshold = threshold
        self.window_seconds = float(window)
        self._window_us = seconds_to_micros(window)
        self._rise_factor = 1.0 + threshold - TOLERANCE
        self._drop_factor = 1.0 - threshold + TOLERANCE
        # (price, t_us) pairs; minima increase front to back, maxima decrease.
        self._minima: deque[tuple[float, int]] = deque()
        self._maxima: deque[tuple[float, int]] = deque()
        self._last_t: int | None = None
        self.alerts = 0
        self.dropped_out_of_order = 0
        self.rejected = 0

    def update(self, price: float, timestamp: datetime) -> SpikeAlert | None:
        """Feed one tick (event time `timestamp`); returns the alert it raises, if any."""
        return self.update_us(price, to_micros(timestamp), timestamp)

    def update_us(self, price: float, t_us: int, when: datetime | None = None) -> SpikeAlert | None:
        """As `update`, with the event time in integer microseconds since the epoch."""
        if not 0.0 < price < _INF:  # also false for NaN
            self.rejected += 1
            return None
        last = self._last_t
        if last is not None and t_us < last:
            self.dropped_out_of_order += 1
            return None
        self._last_t = t_us
        cutoff = t_us - self._window_us
        minima = self._minima
        maxima = self._maxima
        while minima and minima[0][1] < cutoff:
            minima.popleft()
        while maxima and maxima[0][1] < cutoff:
            maxima.popleft()
        while minima and minima[-1][0] >= price:
            minima.pop()
        while maxima and maxima[-1][0] <= price:
            maxima.pop()
        entry = (price, t_us)
        minima.append(entry)
        maxima.append(entry)
        low = minima[0][0]
        if price >= low * self._rise_factor:
            return self._alert("up", low, price, t_us, when)
        high = maxima[0][0]
        if price <= high * self._drop_factor:
            return self._alert("down", high, price, t_us, when)
        return None

    def _alert(
        self,
        direction: Literal["up", "down"],
        reference: float,
        price: float,
        t_us: int,
        when: datetime | None,
    ) -> SpikeAlert:
        self.alerts += 1
        self._minima.clear()
        self._maxima.clear()
        self._minima.append((price, t_us))
        self._maxima.append((price, t_us))
        return SpikeAlert(
            ticker=self.ticker,
            direction=direction,
            change_pct=(price / reference - 1.0) * 100.0,
            reference_price=reference,
            price=price,
            window_seconds=self.window_seconds,
            timestamp=when if when is not None else from_micros(t_us),
        )

    def reset(self) -> None:
        """Forget the window and the last time seen (counters are kept)."""
        self._minima.clear()
        self._maxima.clear()
        self._last_t = None


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Threshold (fraction, 0.02 = 2 %) and window (seconds) for one ticker."""

    threshold: float = DEFAULT_THRESHOLD
    window: float = DEFAULT_WINDOW


class AlertEngine:
    """Spike detectors (and optionally moving averages) for many tickers, made on demand.

    Contract: `process(tick)` feeds the tick to its ticker's `SpikeDetector` and returns
    the alert it raises, if any, and updates the ticker's `MovingAverage` when
    `average_window` is set. Every ticker uses `default` unless `overrides` (or
    `set_rule`) gives it its own rule. Like the detector, it never raises for bad or late
    ticks; the counters `dropped_out_of_order` and `rejected` sum over tickers.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        window: float = DEFAULT_WINDOW,
        *,
        overrides: Mapping[str, AlertRule | Mapping[str, float]] | None = None,
        average_window: float | None = 300.0,
    ) -> None:
        self.default = AlertRule(threshold, window)
        SpikeDetector("X", threshold, window)  # validates the default rule up front
        if average_window is not None:
            MovingAverage(average_window)  # validates the window up front
        self.average_window = average_window
        self._rules: dict[str, AlertRule] = {}
        self._detectors: dict[str, SpikeDetector] = {}
        self._averages: dict[str, MovingAverage] = {}
        for ticker, rule in (overrides or {}).items():
            self.set_rule(ticker, **(_as_rule_fields(rule)))

    def rule_for(self, ticker: str) -> AlertRule:
        return self._rules.get(normalize_ticker(ticker), self.default)

    def set_rule(
        self, ticker: str, *, threshold: float | None = None, window: float | None = None
    ) -> AlertRule:
        """Give `ticker` its own threshold and/or window; restarts its detector."""
        ticker = normalize_ticker(ticker)
        current = self._rules.get(ticker, self.default)
        rule = replace(
            current,
            threshold=current.threshold if threshold is None else threshold,
            window=current.window if window is None else window,
        )
        SpikeDetector(ticker, rule.threshold, rule.window)  # validate before storing
        self._rules[ticker] = rule
        self._detectors.pop(ticker, None)
        return rule

    def detector(self, ticker: str) -> SpikeDetector:
        detector = self._detectors.get(ticker)
        if detector is None:
            ticker = normalize_ticker(ticker)
            rule = self._rules.get(ticker, self.default)
            detector = self._detectors[ticker] = SpikeDetector(ticker, rule.threshold, rule.window)
        return detector

    def process(self, tick: Tick) -> SpikeAlert | None:
        t_us = to_micros(tick.timestamp)
        if self.average_window is not None:
            average = self._averages.get(tick.ticker)
            if average is None:
                average = self._averages[tick.ticker] = MovingAverage(self.average_window)
            average.update_us(tick.price, t_us)
        return self.detector(tick.ticker).update_us(tick.price, t_us, tick.timestamp)

    def average(self, ticker: str) -> float | None:
        """The ticker's moving average after the last tick, or None before any tick."""
        average = self._averages.get(normalize_ticker(ticker))
        return None if average is None else average.value

    @property
    def tickers(self) -> list[str]:
        return sorted(self._detectors)

    @property
    def dropped_out_of_order(self) -> int:
        return sum(d.dropped_out_of_order for d in self._detectors.values())

    @property
    def rejected(self) -> int:
        return sum(d.rejected for d in self._detectors.values())


def _as_rule_fields(rule: AlertRule | Mapping[str, float]) -> dict[str, float]:
    if isinstance(rule, AlertRule):
        return {"threshold": rule.threshold, "window": rule.window}
    unknown = set(rule) - {"threshold", "window"}
    if unknown:
        raise ValueError(f"unknown alert rule field(s): {', '.join(sorted(unknown))}")
    return dict(rule)
