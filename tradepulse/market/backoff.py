"""Exponential backoff with jitter for reconnect and retry loops."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays that double from `initial` up to `maximum`, each scaled by a random factor.

    Contract: `next()` returns the delay before the next attempt, in seconds, within
    `[base * (1 - jitter), base]` where base is `initial * factor**n` capped at `maximum`
    and n the number of failures since the last `reset()`. Jitter keeps many clients that
    lost the same server from reconnecting in lock-step.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or factor < 1 or not 0 <= jitter < 1:
            raise ValueError("need 0 < initial <= maximum, factor >= 1, 0 <= jitter < 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(self.failures, 64))
        self.failures += 1
        return base * (1 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self.failures = 0
