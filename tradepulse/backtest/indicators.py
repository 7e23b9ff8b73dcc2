"""Moving averages, vectorised with NumPy (no per-bar Python loop).

Both averages return an array as long as their input, with NaN where the average does not exist
yet: the first ``n - 1`` bars. A strategy therefore cannot trade before its slowest average
exists, for either kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# decay**block_len is kept near 1e-30 (far below float64 resolution), so each block of the
# recurrence depends on the one before it only through that block's last value, while
# decay**-block_len (about 1e30) stays far from overflow.
_BLOCK_DECAY_EXPONENT = 69.0


def _check_window(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"window must be a whole number >= 1, got {n!r}")
    return int(n)


def sma(values: npt.ArrayLike, n: int) -> FloatArray:
    """Simple moving average over ``n`` bars; NaN for the first ``n - 1`` bars.

    Each window sum is a fixed pairwise sum of the window's own values (see
    :func:`sma_many`), so no rounding error carries across windows: pandas
    ``rolling(n).mean()`` agrees to ~1e-13 relative even when prices span decades, and a
    value never depends on how much history precedes its window.
    """
    return sma_many(values, [n])[0]


def sma_many(values: npt.ArrayLike, windows: Sequence[int]) -> list[FloatArray]:
    """:func:`sma` of ``values`` for each of ``windows``, sharing the work between them.

    Sums of 1, 2, 4, 8, ... consecutive values are built by doubling (``log2`` passes over the
    data, shared by all windows); a window of ``n`` bars adds the power-of-two sums of the bits
    of ``n``, lowest first. The result for a window is identical to the last bit whichever
    other windows are computed beside it.
    """
    ns = [_check_window(n) for n in windows]
    x = np.asarray(values, dtype=np.float64)
    m = len(x)
    outs = [np.full(x.shape, np.nan) for _ in ns]
    live = [i for i, n in enumerate(ns) if n <= m]
    if not live:
        return outs
    # Each window's sum is built in place in its output (the part after its warm-up), and the
    # doubling alternates between two scratch arrays: fresh large arrays cost page faults.
    sums = {i: outs[i][ns[i] - 1 :] for i in live}
    started: set[int] = set()
    offsets = dict.fromkeys(live, 0)
    scratch: list[FloatArray] = []
    level: FloatArray = x  # level[j] = sum of x[j : j + width]
    width = 1
    top = max(ns[i] for i in live)
    while True:
        for i in live:
            n = ns[i]
            if n & width:
                part = level[offsets[i] : offsets[i] + m - n + 1]
                if i in started:
                    sums[i] += part
                else:
                    np.copyto(sums[i], part)
                    started.add(i)
                offsets[i] += width
        if 2 * width > top:
            break
        if len(scratch) < 2:
            scratch.append(np.empty(m - 1))
        target = scratch[1] if level.base is scratch[0] else scratch[0]
        level = np.add(level[:-width], level[width:], out=target[: len(level) - width])
        width *= 2
    for i in live:
        sums[i] /= ns[i]
    return outs


def linear_recurrence(u: npt.ArrayLike, decay: float, initial: float) -> FloatArray:
    """Solve ``y[t] = decay * y[t-1] + u[t]`` with ``y[-1] = initial``, for ``0 <= decay < 1``.

    Vectorised in blocks: inside a block the sum is a scaled cumulative sum; between blocks the
    carried value has decayed below float64 resolution after one block, so every block's carry
    comes from the block before it alone.
    """
    u = np.asarray(u, dtype=np.float64)
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be in [0, 1), got {decay!r}")
    n = len(u)
    if n == 0:
        return u.copy()
    if decay == 0.0:
        return u.copy()
    log_decay = math.log(decay)
    block = max(1, min(n, int(_BLOCK_DECAY_EXPONENT / -log_decay)))
    n_blocks = -(-n // block)
    padded = np.zeros(n_blocks * block)
    padded[:n] = u
    u2 = padded.reshape(n_blocks, block)
    j = np.arange(block, dtype=np.float64)
    grow = np.exp(-j * log_decay)  # decay**-j
    shrink = np.exp(j * log_decay)  # decay**j
    zero_start = np.cumsum(u2 * grow, axis=1) * shrink
    carry_gain = decay ** (j + 1.0)
    block_decay = decay**block
    last = zero_start[:, -1]
    carry = np.empty(n_blocks)
    carry[0] = initial
    if n_blocks > 1:
        before_last = np.empty(n_blocks - 1)
        before_last[0] = initial
        before_last[1:] = last[:-2]
        carry[1:] = last[:-1] + block_decay * before_last
    y = zero_start + carry[:, None] * carry_gain
    return y.reshape(-1)[:n]


def ema_full(values: npt.ArrayLike, n: int) -> FloatArray:
    """Exponential average with ``alpha = 2 / (n + 1)`` seeded with the first value.

    Equal to pandas ``Series.ewm(span=n, adjust=False).mean()`` at every bar (no NaN).
    """
    n = _check_window(n)
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return x.copy()
    alpha = 2.0 / (n + 1.0)
    return linear_recurrence(alpha * x, 1.0 - alpha, float(x[0]))


def ema(values: npt.ArrayLike, n: int) -> FloatArray:
    """Exponential moving average over span ``n``; NaN for the first ``n - 1`` bars.

    The recursion is pandas' ``ewm(span=n, adjust=False)``, seeded with the first value
    (``ema[0] = close[0]``); the first ``n - 1`` values are then hidden as warm-up, so an EMA
    strategy starts trading on the same bar as the SMA one. Where defined, the values equal
    pandas' to floating-point rounding.
    """
    out = ema_full(values, n)
    out[: min(len(out), _check_window(n) - 1)] = np.nan
    return out


MOVING_AVERAGES = {"sma": sma, "ema": ema}
