"""Spike alerts over a whole recorded series at once, with :class:`SpikeDetector`'s rule.

The detector walks ticks one by one; a recorded file is known in full, so this module finds the
same alerts with array operations (``python -m tradepulse.alerts scan``):

1. Ticks older than the ticker's latest accepted one are dropped (the detector's
   ``dropped_out_of_order``): a tick is accepted when its time is at least every earlier time.
2. Candidates: ticks that alert against the low or high of the last ``k`` ticks, where ``k`` is
   the most ticks any time window ``[t - window, t]`` holds. That span holds the tick's own
   window, and after an alert the detector's window restarts at the alerting tick, a subset
   again; so a tick that is no candidate cannot alert.
3. Walking the candidates: the first one that alerts over its own window is an alert; from
   there on the restarted window (a running low and high from the alert) decides, until the
   time window no longer reaches back to the alert.

The result is exactly the detector's: the same comparisons on the same floats.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from .detector import TOLERANCE, SpikeAlert, SpikeDetector
from .timebase import from_micros, seconds_to_micros

if TYPE_CHECKING:
    from tradepulse.market.tickcolumns import TickColumns

__all__ = ["ColumnsScan", "SeriesScan", "SpikeHit", "scan_columns", "scan_series"]


@dataclass(frozen=True, slots=True)
class SpikeHit:
    """One alert of a series: ``position`` is the tick's index in the series given."""

    position: int
    direction: Literal["up", "down"]
    reference_price: float
    price: float


@dataclass(frozen=True, slots=True)
class SeriesScan:
    hits: list[SpikeHit]
    dropped_out_of_order: int
    rejected: int


def _sliding_extremes(
    price: npt.NDArray[np.float64], size: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Low and high of the last ``size`` prices at every index (fewer at the start), by van
    Herk and Gil-Werman's blocks: two running extremes per block, O(n) for any ``size``."""
    n = len(price)
    blocks = -(-(n + size - 1) // size)
    out = []
    for pad, ufunc in ((np.inf, np.minimum), (-np.inf, np.maximum)):
        padded = np.full(blocks * size, pad)
        padded[size - 1 : size - 1 + n] = price
        grid = padded.reshape(blocks, size)
        ahead = ufunc.accumulate(grid, axis=1).reshape(-1)  # from each block's start
        behind = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1].reshape(-1)  # to its end
        # Window ending at padded index j = i + size - 1 starts at j - size + 1 = i.
        out.append(ufunc(behind[:n], ahead[size - 1 : size - 1 + n]))
    return out[0], out[1]


def scan_series(
    t_us: npt.NDArray[np.int64],
    price: npt.NDArray[np.float64],
    threshold: float,
    window: float,
) -> SeriesScan:
    """The alerts :class:`SpikeDetector` raises on one ticker's ticks, given in arrival order
    (event times in microseconds); see the module docstring."""
    rise = 1.0 + threshold - TOLERANCE
    drop = 1.0 - threshold + TOLERANCE
    window_us = seconds_to_micros(window)
    valid = (price > 0.0) & (price < np.inf)
    rejected = int(len(price) - np.count_nonzero(valid))
    kept = np.flatnonzero(valid)
    t_kept = t_us[kept]
    accepted = np.ones(len(kept), dtype=bool)
    if len(kept) > 1:
        accepted[1:] = t_kept[1:] >= np.maximum.accumulate(t_kept)[:-1]
    dropped = int(len(kept) - np.count_nonzero(accepted))
    positions = kept[accepted]
    t = t_kept[accepted]
    p = price[positions]
    n = len(p)
    hits: list[SpikeHit] = []
    if not n:
        return SeriesScan(hits, dropped, rejected)
    first = np.searchsorted(t, t - window_us, side="left")
    # Candidates: ticks that alert over the last `size` ticks, a window holding every tick's
    # time window, so its low is no higher (and its high no lower) than the window's own.
    size = int((np.arange(n) - first).max()) + 1
    low, high = _sliding_extremes(p, size)
    candidates = np.flatnonzero((p >= low * rise) | (p <= high * drop)).tolist()

    def hit(i: int, direction: Literal["up", "down"], reference: float) -> None:
        hits.append(SpikeHit(int(positions[i]), direction, float(reference), float(p[i])))

    start = 0
    c = 0
    while True:
        c = bisect_left(candidates, start, c)
        if c == len(candidates):
            break
        i = candidates[c]
        c += 1
        # The full window (no alert within it since the last one) decides.
        window_prices = p[first[i] : i + 1]
        price = p[i]
        w_low = window_prices.min()
        if price >= w_low * rise:
            hit(i, "up", w_low)
        else:
            w_high = window_prices.max()
            if not price <= w_high * drop:
                continue
            hit(i, "down", w_high)
        # Restarted windows: from the alert at r until a window no longer reaches back to it.
        r = i
        while True:
            end = int(np.searchsorted(t, t[r] + window_us, side="right"))
            if end <= r + 1:
                start = end
                break
            run_low = np.minimum.accumulate(p[r:end])[1:]
            run_high = np.maximum.accumulate(p[r:end])[1:]
            seg = p[r + 1 : end]
            up = seg >= run_low * rise
            down = seg <= run_high * drop
            found = np.flatnonzero(up | down)
            if not len(found):
                start = end
                break
            j = int(found[0])
            i = r + 1 + j
            if up[j]:
                hit(i, "up", run_low[j])
            else:
                hit(i, "down", run_high[j])
            r = i
    return SeriesScan(hits, dropped, rejected)


@dataclass(frozen=True, slots=True)
class ColumnsScan:
    """The alerts of a whole file in file order, and the ticks the detectors would skip."""

    alerts: list[SpikeAlert]
    dropped_out_of_order: int
    rejected: int


def scan_columns(columns: TickColumns, threshold: float, window: float) -> ColumnsScan:
    """The alerts an :class:`~tradepulse.alerts.AlertEngine` (one detector per ticker, the same
    threshold and window) raises on the ticks of ``columns``, in file order."""
    SpikeDetector("X", threshold, window)  # the detector's own checks of the rule
    codes = columns.ticker_code
    if len(columns.tickers) <= np.iinfo(np.int16).max:
        codes = codes.astype(np.int16)  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(columns.tickers)).tolist()
    found: list[tuple[int, SpikeAlert]] = []
    dropped = rejected = 0
    start = 0
    for code, count in enumerate(counts):
        rows = order[start : start + count]
        start += count
        result = scan_series(columns.t_us[rows], columns.price[rows], threshold, window)
        dropped += result.dropped_out_of_order
        rejected += result.rejected
        ticker = columns.tickers[code]
        for hit in result.hits:
            row = int(rows[hit.position])
            alert = SpikeAlert(
                ticker=ticker,
                direction=hit.direction,
                change_pct=(hit.price / hit.reference_price - 1.0) * 100.0,
                reference_price=hit.reference_price,
                price=hit.price,
                window_seconds=float(window),
                timestamp=from_micros(int(columns.t_us[row])),
            )
            found.append((row, alert))
    found.sort(key=lambda item: item[0])
    return ColumnsScan([alert for _, alert in found], dropped, rejected)
