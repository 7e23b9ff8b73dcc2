"""Trading strategies as pure signal functions.

Contract of a :class:`Strategy`:

* Its parameters are plain attributes, validated in ``__init__`` (raising
  :class:`~tradepulse.backtest.errors.StrategyError`), and listed by :meth:`Strategy.params`.
* :meth:`Strategy.target_positions` maps the close prices seen so far to the desired position
  sign after each bar's close: ``+1`` long, ``-1`` short, ``0`` flat. It is pure and causal:
  element ``t`` depends only on ``close[: t + 1]``, so the backtester (on the whole history) and
  a live runner (on the bars received so far, reading element ``-1``) run the same code and
  reach the same decisions.
* :attr:`Strategy.warmup` is the first bar at which all of the strategy's indicators exist.
  Decisions start one bar later, at ``warmup + 1`` (as in backtesting.py, which needs the
  previous bar's values too); earlier targets are ignored.

The backtester acts on the bars where the target changes: after that bar's close it closes the
open position if its direction differs from the target and opens the target position, both
filled at the next bar's open. A target the cash cannot buy one unit of is skipped until the
target changes again.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .errors import StrategyError
from .indicators import MOVING_AVERAGES, FloatArray, sma_many

Int8Array = npt.NDArray[np.int8]


class Strategy:
    """Base class of strategies; see the module docstring for the contract."""

    #: Attribute names that make up the strategy's parameters, in display order.
    param_names: ClassVar[tuple[str, ...]] = ()
    #: The parameter that sets :attr:`warmup` (named by "too few bars" errors), if any.
    warmup_field: ClassVar[str | None] = None

    @property
    def warmup(self) -> int:
        """The first bar at which every indicator of the strategy exists."""
        return 0

    def params(self) -> dict[str, Any]:
        """The strategy's parameters by name (JSON-safe values)."""
        return {name: getattr(self, name) for name in self.param_names}

    def target_positions(self, close: npt.ArrayLike) -> Int8Array:
        """Desired position sign (+1/0/-1) after each bar's close; see the module contract."""
        raise NotImplementedError

    def indicators(self, close: npt.ArrayLike) -> dict[str, FloatArray]:
        """Named indicator lines worth drawing beside the price (may be empty)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.params().items())))


def _whole_number(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise StrategyError(name, f"must be a whole number, got {value!r}")
    if value < 1:
        raise StrategyError(name, f"must be >= 1, got {value}")
    return int(value)


def crossings(
    fast: FloatArray, slow: FloatArray
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Golden and death crosses per bar, strict and NaN-safe.

    Golden at ``t``: ``fast[t-1] < slow[t-1] and fast[t] > slow[t]``; death is the reverse.
    Bar 0 never crosses, and a comparison involving NaN is false, so NaN never crosses.
    """
    with np.errstate(invalid="ignore"):
        return _crossings_from_order(fast > slow, fast < slow)


def _crossings_from_order(
    above: npt.NDArray[np.bool_], below: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    golden = np.zeros(len(above), dtype=bool)
    death = np.zeros(len(above), dtype=bool)
    np.logical_and(below[:-1], above[1:], out=golden[1:])
    np.logical_and(above[:-1], below[1:], out=death[1:])
    return golden, death


# Bars per slice when comparing simple averages: small enough that every temporary stays in
# the CPU cache and is reused, instead of a fresh multi-megabyte array per step.
_ORDER_CHUNK = 1 << 15


def _sma_order(
    close: npt.ArrayLike, fast: int, slow: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``sma(close, fast) > sma(close, slow)`` and ``<``, computed slice by slice.

    Each slice starts ``slow - 1`` bars early so that its windows are whole; a window's sum
    depends on the window's values alone (see :func:`sma_many`), so the slices agree bit for
    bit with the averages of the whole series.
    """
    x = np.asarray(close, dtype=np.float64)
    m = len(x)
    above = np.zeros(m, dtype=bool)
    below = np.zeros(m, dtype=bool)
    with np.errstate(invalid="ignore"):
        for start in range(0, m, _ORDER_CHUNK):
            end = min(m, start + _ORDER_CHUNK)
            lo = max(0, start - (slow - 1))
            f, s = sma_many(x[lo:end], [fast, slow])
            f, s = f[start - lo :], s[start - lo :]
            np.greater(f, s, out=above[start:end])
            np.less(f, s, out=below[start:end])
    return above, below


def hold_values(values: Int8Array, at: npt.NDArray[np.intp], n: int) -> Int8Array:
    """``n`` bars holding ``values[i]`` from bar ``at[i]`` until the next one (0 before)."""
    held = np.concatenate(([0], values)).astype(np.int8)
    lengths = np.diff(np.concatenate(([0], at, [n])))
    return np.repeat(held, lengths)


class MovingAverageCrossover(Strategy):
    """Trade the crossings of a fast and a slow moving average of the close.

    Long-only (the default): go long on a golden cross when flat, go flat on a death cross.
    With ``allow_short``: every cross reverses, long after a golden cross and short after a death
    cross. Crosses are strict (see :func:`crossings`), and no cross exists before both averages
    do, so trading starts once the slow average exists (bar ``slow - 1`` is its first value, the
    first possible cross is at bar ``slow``).
    """

    param_names = ("fast", "slow", "kind", "allow_short")
    warmup_field = "slow"

    def __init__(
        self, fast: int = 10, slow: int = 20, kind: str = "sma", allow_short: bool = False
    ):
        self.fast = _whole_number("fast", fast)
        self.slow = _whole_number("slow", slow)
        if self.fast >= self.slow:
            raise StrategyError(
                "fast",
                f"fast ({self.fast}) must be smaller than slow ({self.slow})",
                sentence=True,
            )
        if kind not in MOVING_AVERAGES:
            known = ", ".join(sorted(MOVING_AVERAGES))
            raise StrategyError("kind", f"must be one of {known}, got {kind!r}")
        self.kind = kind
        if not isinstance(allow_short, (bool, np.bool_)):
            raise StrategyError("allow_short", f"must be true or false, got {allow_short!r}")
        self.allow_short = bool(allow_short)

    @property
    def warmup(self) -> int:
        return self.slow - 1

    def averages(self, close: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """The fast and slow averages of ``close`` (NaN during their warm-up)."""
        if self.kind == "sma":
            fast, slow = sma_many(close, [self.fast, self.slow])
            return fast, slow
        average = MOVING_AVERAGES[self.kind]
        return average(close, self.fast), average(close, self.slow)

    def indicators(self, close: npt.ArrayLike) -> dict[str, FloatArray]:
        fast, slow = self.averages(close)
        kind = self.kind.upper()
        return {f"{kind}({self.fast})": fast, f"{kind}({self.slow})": slow}

    def target_positions(self, close: npt.ArrayLike) -> Int8Array:
        if self.kind == "sma":
            above, below = _sma_order(close, self.fast, self.slow)
            return self._positions(*_crossings_from_order(above, below))
        fast, slow = self.averages(close)
        return self.positions_from_averages(fast, slow)

    def positions_from_averages(self, fast: FloatArray, slow: FloatArray) -> Int8Array:
        """:meth:`target_positions` from precomputed averages (lets a sweep reuse them)."""
        return self._positions(*crossings(fast, slow))

    def _positions(self, golden: npt.NDArray[np.bool_], death: npt.NDArray[np.bool_]) -> Int8Array:
        events = np.flatnonzero(golden | death)
        values = np.where(golden[events], 1, -1 if self.allow_short else 0).astype(np.int8)
        return hold_values(values, events, len(golden))
