"""Brute-force references: rescan the whole window on every tick."""

from __future__ import annotations

import math

from tradepulse.alerts import TOLERANCE


class RescanDetector:
    """The alert rule read literally: keep every tick since the last alert, rescan the window."""

    def __init__(self, threshold: float, window_us: int) -> None:
        self.threshold = threshold
        self.window_us = window_us
        self.ticks: list[tuple[float, int]] = []
        self.last_t: int | None = None

    def update(self, price: float, t: int) -> tuple[str, float] | None:
        if not (math.isfinite(price) and price > 0):
            return None
        if self.last_t is not None and t < self.last_t:
            return None
        self.last_t = t
        self.ticks.append((price, t))
        window = [p for p, ti in self.ticks if t - self.window_us <= ti <= t]
        low, high = min(window), max(window)
        if price / low - 1 >= self.threshold - TOLERANCE:
            self.ticks = [(price, t)]
            return ("up", low)
        if 1 - price / high >= self.threshold - TOLERANCE:
            self.ticks = [(price, t)]
            return ("down", high)
        return None


def rescan_mean(ticks: list[tuple[float, int]], window_us: int) -> float:
    t = ticks[-1][1]
    return math.fsum(p for p, ti in ticks if t - window_us <= ti <= t) / sum(
        1 for _, ti in ticks if t - window_us <= ti <= t
    )
