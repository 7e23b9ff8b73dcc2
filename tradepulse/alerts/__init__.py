"""Spike alerts and moving averages over live ticks (event time, O(1) per tick)."""

from .detector import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    TOLERANCE,
    AlertEngine,
    AlertRule,
    SpikeAlert,
    SpikeDetector,
    describe_window,
)
from .moving_average import MovingAverage
from .timebase import from_micros, to_micros

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "TOLERANCE",
    "SpikeAlert",
    "AlertEngine",
    "AlertRule",
    "MovingAverage",
    "SpikeDetector",
    "describe_window",
    "from_micros",
    "to_micros",
]
