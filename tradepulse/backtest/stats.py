"""Backtest statistics with backtesting.py 0.6's definitions (``backtesting/_stats.py``).

Every figure follows ``compute_stats`` of backtesting.py, vectorised: percentages are in
percent, the maximum and average drawdowns are negative percentages, Sharpe, Sortino and the
annualised figures use the equity resampled to calendar days (weeks, months or years for data
of that spacing) and a geometric mean return, trade averages cover closed trades only, and
durations are rounded up to the resolution of the bar spacing.

Plain NumPy and the standard library: times come in as UTC nanoseconds, and go out as
``datetime`` (UTC) and ``timedelta``, so a command that only needs figures never loads pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
_NS_PER_DAY = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Nanoseconds per unit, coarsest first: the resolution of a spacing is the coarsest unit that
#: divides it (pandas' ``Timedelta.resolution_string``).
_UNITS = (
    ("D", _NS_PER_DAY),
    ("h", 3_600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)

#: Statistic names in display order.
STAT_NAMES: tuple[str, ...] = (
    "start",
    "end",
    "duration",
    "exposure_pct",
    "equity_final",
    "equity_peak",
    "commissions",
    "return_pct",
    "buy_hold_return_pct",
    "return_ann_pct",
    "volatility_ann_pct",
    "cagr_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown_pct",
    "avg_drawdown_pct",
    "max_drawdown_duration",
    "avg_drawdown_duration",
    "trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "max_trade_duration",
    "avg_trade_duration",
    "profit_factor",
    "expectancy_pct",
    "sqn",
)

#: Names whose values are ``timedelta`` (or ``None`` when undefined).
DURATION_STATS = frozenset(
    {
        "duration",
        "max_drawdown_duration",
        "avg_drawdown_duration",
        "max_trade_duration",
        "avg_trade_duration",
    }
)


#: Statistics a sweep can rank by (the numeric ones).
SWEEP_METRICS = tuple(
    name for name in STAT_NAMES if name not in DURATION_STATS and name not in ("start", "end")
)


@dataclass(frozen=True)
class ClosedTrades:
    """Closed trades as parallel arrays (one element per trade)."""

    entry_bar: npt.NDArray[np.int64]
    exit_bar: npt.NDArray[np.int64]
    pnl: FloatArray
    return_frac: FloatArray  # fraction, not percent, as backtesting.py's ReturnPct
    commission: FloatArray


@dataclass(frozen=True)
class Calendar:
    """What the statistics need from the bars' dates, computed once per data set."""

    ns: npt.NDArray[np.int64]  # UTC nanoseconds, ascending
    resolution: str
    annual_periods: float
    period_rule: str  # "D", "W", "ME" or "YE"
    period_last: npt.NDArray[np.int64] | None  # last bar of each day (rule "D" only)

    @classmethod
    def from_index(cls, index: pd.DatetimeIndex) -> Calendar:
        return cls.from_ns(index.as_unit("ns").asi8)

    @classmethod
    def from_ns(cls, ns: npt.NDArray[np.int64]) -> Calendar:
        # The median spacing of the last 100 bars, in whole nanoseconds (0 for a single bar).
        gaps = np.diff(ns[-100:])
        spacing = int(np.median(gaps)) if len(gaps) else 0
        resolution = next(name for name, unit in _UNITS if spacing % unit == 0)
        # Bars per calendar day (UTC) from the sorted timestamps, without a per-bar pass.
        first_day, last_day = (int(ns[0] // _NS_PER_DAY), int(ns[-1] // _NS_PER_DAY))
        day_numbers = np.arange(first_day, last_day + 1, dtype=np.int64)
        starts = np.searchsorted(ns, day_numbers * _NS_PER_DAY)
        per_day = np.diff(np.append(starts, len(ns)))
        weekend = (day_numbers + 3) % 7 >= 5  # 1970-01-01 was a Thursday; Monday is 0
        have_weekends = per_day[weekend].sum() / len(ns) > 2 / 7 * 0.6
        spacing_days = spacing // _NS_PER_DAY
        annual = {7: 52, 31: 12, 365: 1}.get(spacing_days, 365 if have_weekends else 252)
        rule = {7: "W", 31: "ME", 365: "YE"}.get(spacing_days, "D")
        period_last = None
        if rule == "D":
            period_last = (starts + per_day - 1)[per_day > 0]
        return cls(ns, resolution, float(annual), rule, period_last)


def geometric_mean(returns: FloatArray) -> float:
    """Geometric mean of simple returns; 0 once any return is -100 % or worse."""
    growth = np.nan_to_num(returns, nan=0.0) + 1.0
    if np.any(growth <= 0):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.exp(np.log(growth).sum() / (len(growth) or np.nan)) - 1)


def compute_stats(
    calendar: Calendar,
    close: FloatArray,
    equity: FloatArray,
    trades: ClosedTrades,
    first_trading_bar: int,
) -> dict[str, Any]:
    """All statistics of :data:`STAT_NAMES` for one backtest.

    ``first_trading_bar`` is the strategy's warm-up (the first bar where all its indicators
    exist); buy & hold is measured from that bar's close, as backtesting.py does.
    """
    return compute_stats_many(calendar, close, equity[None, :], [trades], [first_trading_bar])[0]


def _per_row(values: FloatArray, rows: npt.NDArray[np.int64], k: int) -> FloatArray:
    return np.bincount(rows, weights=values, minlength=k).astype(np.float64, copy=False)


def compute_stats_many(
    calendar: Calendar,
    close: FloatArray,
    equity: FloatArray,
    trades: list[ClosedTrades],
    first_trading_bars: list[int],
) -> list[dict[str, Any]]:
    """:func:`compute_stats` for several equity curves (rows of ``equity``) on one data set.

    Vectorised across rows; a single backtest is the one-row case of the same code, so a sweep
    row and a lone run give identical figures.
    """
    ns = calendar.ns
    k, n = equity.shape
    rows = np.arange(k)
    span = int(ns[-1] - ns[0])
    duration = _timedelta(span)
    years = (span // _NS_PER_DAY + span % _NS_PER_DAY // 10**9 / 86400) / 365.25
    annual = calendar.annual_periods
    unit = dict(_UNITS)[calendar.resolution]

    counts = np.array([len(t.pnl) for t in trades], dtype=np.int64)
    trow = np.repeat(rows, counts)
    entry = np.concatenate([t.entry_bar for t in trades])
    exit_ = np.concatenate([t.exit_bar for t in trades])
    pl = np.concatenate([t.pnl for t in trades])
    ret = np.concatenate([t.return_frac for t in trades])
    comm = np.concatenate([t.commission for t in trades])

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Exposure: bars inside any closed trade, entry and exit bars included. Trades of one
        # run never overlap, except that a reversal's exit bar is the next entry bar.
        covered = _per_row((exit_ - entry + 1).astype(np.float64), trow, k)
        shared = (exit_[:-1] == entry[1:]) & (trow[:-1] == trow[1:])
        covered -= _per_row(shared.astype(np.float64), trow[:-1], k)
        exposure = covered / n * 100

        final = equity[:, -1]
        first = equity[:, 0]
        return_pct = (final - first) / first * 100
        c0 = close[np.asarray(first_trading_bars, dtype=np.int64)]
        buy_hold = (close[-1] - c0) / c0 * 100

        day = _period_returns(calendar, equity)
        gmean, var, downside = _day_return_moments(day)
        annualized = (1 + gmean) ** annual - 1
        vol = np.sqrt((var + (1 + gmean) ** 2) ** annual - (1 + gmean) ** (2 * annual)) * 100
        cagr = ((final / first) ** (1 / years) - 1) * 100 if years else np.full(k, np.nan)
        sharpe = annualized * 100 / np.where(vol == 0, np.nan, vol)
        sortino = annualized / (np.sqrt(downside) * math.sqrt(annual))

        # dd = 1 - equity / running peak, worked out in one array (fresh arrays of a million
        # bars cost more in page faults than the arithmetic).
        dd = np.maximum.accumulate(equity, axis=1)
        np.divide(equity, dd, out=dd)
        np.subtract(1, dd, out=dd)
        max_dd = np.nan_to_num(dd.max(axis=1))
        calmar = annualized / np.where(max_dd == 0, np.nan, max_dd)

        # Drawdown episodes: from a peak bar to the next peak bar (or the last bar), i.e.
        # around each run of bars below the peak; found from the run edges alone.
        at_peak = dd == 0
        at_peak[:, -1] = True
        flat_peak = at_peak.reshape(-1)
        edges = np.flatnonzero(flat_peak[1:] != flat_peak[:-1])
        if not flat_peak[0]:
            edges = edges[1:]  # a run before any peak has no episode
        prev, cur = edges[0::2], edges[1::2] + 1
        same_row = prev // n == cur // n
        ep_start, ep_end = prev[same_row], cur[same_row]
        ep_row = ep_start // n
        ep_count = np.bincount(ep_row, minlength=k)
        bounds = np.union1d(ep_start, rows * n)
        peaks = np.maximum.reduceat(dd.reshape(-1), bounds)[np.searchsorted(bounds, ep_start)]
        avg_dd = -_per_row(peaks, ep_row, k) / ep_count * 100
        # Without a completed episode backtesting.py averages the non-zero drawdowns: at most
        # the last bar's.
        lone = (ep_count == 0) & (dd[:, -1] != 0)
        avg_dd[lone] = -dd[lone, -1] * 100
        ep_dur = ns[ep_end % n] - ns[ep_start % n]
        dd_dur_max = _group_max(ep_dur, ep_count)
        dd_dur_mean = _per_row(ep_dur.astype(np.float64), ep_row, k) / ep_count

        win = _per_row((pl > 0).astype(np.float64), trow, k) / counts * 100
        best = _group_max(ret, counts) * 100
        worst = -_group_max(-ret, counts) * 100
        t_growth = ret + 1
        t_log = _per_row(np.log(np.where(t_growth > 0, t_growth, 1.0)), trow, k)
        avg_trade = (np.exp(t_log / counts) - 1) * 100
        avg_trade[_per_row((t_growth <= 0).astype(np.float64), trow, k) > 0] = 0.0
        gains = _per_row(np.where(ret > 0, ret, 0.0), trow, k)
        losses = np.abs(_per_row(np.where(ret < 0, ret, 0.0), trow, k))
        profit_factor = gains / np.where(losses == 0, np.nan, losses)
        expectancy = _per_row(ret, trow, k) / counts * 100
        pl_mean = _per_row(pl, trow, k) / counts
        pl_var = _per_row((pl - pl_mean[trow]) ** 2, trow, k) / (counts - 1)
        pl_std = np.where(counts > 1, np.sqrt(pl_var), np.nan)
        sqn = np.sqrt(counts) * pl_mean / np.where(pl_std == 0, np.nan, pl_std)
        t_dur = ns[exit_] - ns[entry]
        t_dur_max = _group_max(t_dur, counts)
        t_dur_mean = _per_row(t_dur.astype(np.float64), trow, k) / counts
    commissions = _per_row(comm, trow, k)

    start, end = _datetime(int(ns[0])), _datetime(int(ns[-1]))
    ceil_cache: dict[float, timedelta] = {}

    def ceil(value: float) -> timedelta:
        if value not in ceil_cache:
            ceil_cache[value] = _ceil(value, unit)
        return ceil_cache[value]

    # Plain Python numbers per column first: far cheaper than converting element by element.
    figures = {
        "exposure_pct": exposure,
        "equity_final": final,
        "equity_peak": equity.max(axis=1),
        "commissions": commissions,
        "return_pct": return_pct,
        "buy_hold_return_pct": buy_hold,
        "return_ann_pct": annualized * 100,
        "volatility_ann_pct": vol,
        "cagr_pct": cagr,
        "sharpe_ratio": sharpe,
        "sortino_ratio": sortino,
        "calmar_ratio": calmar,
        "max_drawdown_pct": -max_dd * 100,
        "avg_drawdown_pct": avg_dd,
        "max_drawdown_duration": dd_dur_max,
        "avg_drawdown_duration": dd_dur_mean,
        "trades": counts,
        "win_rate_pct": win,
        "best_trade_pct": best,
        "worst_trade_pct": worst,
        "avg_trade_pct": avg_trade,
        "max_trade_duration": t_dur_max,
        "avg_trade_duration": t_dur_mean,
        "profit_factor": profit_factor,
        "expectancy_pct": expectancy,
        "sqn": sqn,
    }
    columns = {name: np.asarray(values).tolist() for name, values in figures.items()}
    has_episodes = (ep_count > 0).tolist()
    has_trades = (counts > 0).tolist()
    out = []
    for r in range(k):
        s: dict[str, Any] = {"start": start, "end": end, "duration": duration}
        for name in STAT_NAMES[3:]:
            value = columns[name][r]
            if name in DURATION_STATS:
                defined = has_episodes[r] if "drawdown" in name else has_trades[r]
                value = ceil(value) if defined else None
            s[name] = value
        out.append(s)
    return out


def _row_sums(values: FloatArray) -> FloatArray:
    # Each row is summed on its own (reduceat), so a row's sum does not depend on how many
    # rows share the array: a sweep row equals the lone run to the last bit.
    k, width = values.shape
    return np.add.reduceat(values.reshape(-1), np.arange(k) * width)


def _day_return_moments(day: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per row: geometric mean, sample variance and mean squared downside of period returns.

    NaN returns (after an account is wiped out) are left out, as backtesting.py drops them.
    """
    k, width = day.shape
    gmean, var, downside = np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan)
    if width == 0:
        return gmean, var, downside
    has_nan = np.isnan(day).any(axis=1)
    whole = ~has_nan
    if whole.any():
        d = day[whole]
        growth = d + 1
        log_sum = _row_sums(np.log(np.where(growth > 0, growth, 1.0)))
        g = np.exp(log_sum / width) - 1
        g[(growth <= 0).any(axis=1)] = 0.0
        gmean[whole] = g
        mean = _row_sums(d) / width
        if width > 1:
            var[whole] = _row_sums((d - mean[:, None]) ** 2) / (width - 1)
        downside[whole] = _row_sums(np.minimum(d, 0) ** 2) / width
    for r in np.flatnonzero(has_nan):
        d = day[r][~np.isnan(day[r])]
        gmean[r] = geometric_mean(d)
        var[r] = float(np.var(d, ddof=1)) if len(d) > 1 else math.nan
        downside[r] = float(np.mean(np.minimum(d, 0) ** 2)) if len(d) else math.nan
    return gmean, var, downside


def _group_max(values: npt.NDArray[Any], counts: npt.NDArray[np.int64]) -> FloatArray:
    """Maximum of each consecutive group of ``counts[i]`` values; NaN for empty groups."""
    out = np.full(len(counts), np.nan)
    nonempty = counts > 0
    if nonempty.any():
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
        out[nonempty] = np.maximum.reduceat(values, starts)
    return out


def _ceil(value: float, unit: int) -> timedelta:
    # Truncated to whole nanoseconds, then rounded up to the unit (pandas' Timedelta.ceil).
    whole = int(value)
    return _timedelta(-(-whole // unit) * unit)


def _timedelta(ns: int) -> timedelta:
    return timedelta(microseconds=ns // 1000)


def _datetime(ns: int) -> datetime:
    return _EPOCH + _timedelta(ns)


def stats_json(stats: dict[str, Any]) -> dict[str, Any]:
    """The statistics as JSON-safe values, keyed by exactly :data:`STAT_NAMES`."""
    return {key: json_safe(stats[key]) for key in STAT_NAMES}


def json_safe(value: Any) -> Any:
    """A JSON-safe copy of one statistic value (see ``BacktestResult.to_json_dict``):
    timestamps as ISO 8601 strings, durations in seconds, NaN, NaT and infinities as None."""
    if value is None or value != value:  # NaN and NaT are not equal to themselves
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _period_returns(calendar: Calendar, equity: FloatArray) -> FloatArray:
    """Per-row simple returns between period closes; NaN where backtesting.py drops one."""
    if calendar.period_last is not None:
        closes = equity[:, calendar.period_last]
    else:
        # Weekly and coarser bars are few; pandas' calendar rules (weeks ending Sunday, month
        # and year ends) are worth its import there.
        import pandas as pd

        index = pd.DatetimeIndex(calendar.ns.view("M8[ns]")).tz_localize("UTC")
        frame = pd.DataFrame(equity.T, index=index).resample(calendar.period_rule).last()
        closes = frame.dropna(how="all").to_numpy().T
    with np.errstate(divide="ignore", invalid="ignore"):
        return closes[:, 1:] / closes[:, :-1] - 1.0
