"""Time-based moving average over an event-time window."""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime

from .timebase import seconds_to_micros, to_micros

__all__ = ["MovingAverage"]

_INF = math.inf


class MovingAverage:
    """Mean of the prices of the ticks with `t - window <= t_i <= t` (default 300 s).

    O(1) amortised per tick: a running sum over a deque. Subtracting evicted prices lets
    rounding error build up, so the sum is recomputed exactly (`math.fsum`) once as many
    updates as there are ticks in the window have passed, which keeps the amortised cost
    constant and the error within a few ulps of the exact mean.

    Like the spike detector it drops (and counts) ticks older than the last one and rejects
    (and counts) prices that are not finite and positive, returning the unchanged mean.
    """

    __slots__ = (
        "_last_t",
        "_since_resum",
        "_sum",
        "_ticks",
        "_window_us",
        "dropped_out_of_order",
        "rejected",
        "window_seconds",
    )

    def __init__(self, window: float = 300.0) -> None:
        if not 0 < window < _INF:
            raise ValueError("window must be a positive number of seconds")
        self.window_seconds = float(window)
        self._window_us = seconds_to_micros(window)
        self._ticks: deque[tuple[float, int]] = deque()
        self._sum = 0.0
        self._since_resum = 0
        self._last_t: int | None = None
        self.dropped_out_of_order = 0
        self.rejected = 0

    @property
    def value(self) -> float | None:
        return self._sum / len(self._ticks) if self._ticks else None

    @property
    def count(self) -> int:
        return len(self._ticks)

    def update(self, price: float, timestamp: datetime) -> float | None:
        """Add one tick; returns the mean over the window ending at `timestamp`."""
        return self.update_us(price, to_micros(timestamp))

    def update_us(self, price: float, t_us: int) -> float | None:
        if not 0.0 < price < _INF:
            self.rejected += 1
            return self.value
        if self._last_t is not None and t_us < self._last_t:
            self.dropped_out_of_order += 1
            return self.value
        self._last_t = t_us
        ticks = self._ticks
        cutoff = t_us - self._window_us
        total = self._sum
        while ticks and ticks[0][1] < cutoff:
            total -= ticks.popleft()[0]
        ticks.append((price, t_us))
        total += price
        self._since_resum += 1
        if self._since_resum >= len(ticks) or self._since_resum >= 100_000:
            total = math.fsum(p for p, _ in ticks)
            self._since_resum = 0
        self._sum = total
        return total / len(ticks)
