"""OHLCV bars: loading, validation, synthetic generation and tick aggregation.

Every loader returns the same shape, a *bars frame*: a ``pd.DataFrame`` indexed by a
timezone-aware UTC ``DatetimeIndex`` named ``Date``, strictly increasing, with float columns
``Open, High, Low, Close, Volume`` (plus ``Adj Close`` when the source had one). Bad data raises
:class:`~tradepulse.backtest.errors.DataError` naming the problem and the row; nothing is
filled in or guessed.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .barcolumns import (
    CANONICAL,
    DATE_NAMES,
    MAX_BAR_PRICE,
    NULL_WORDS,
    PRICE_COLUMNS,
    BarColumns,
    bar_columns,
    header,
    numbers_are_clean,
    parse,
    read_file,
)
from .errors import DataError
from .indicators import linear_recurrence


def _describe(row: int, when: Any, line_offset: int | None) -> str:
    where = f"row {row + 1}"
    if line_offset is not None:
        where += f" (line {row + line_offset})"
    if when is not None and not (isinstance(when, float) and math.isnan(when)):
        stamp = when.isoformat() if isinstance(when, pd.Timestamp) else str(when)
        where += f" dated {stamp}"
    return where


def validate_bars(
    data: pd.DataFrame, *, source: str | None = None, line_offset: int | None = None
) -> pd.DataFrame:
    """Check and normalise a DataFrame of bars into a bars frame (see the module docstring).

    Dates come from a ``DatetimeIndex`` or from a ``Date``/``Datetime`` column (any case);
    naive dates are read as UTC, others converted to UTC. Column names match in any case. Raises
    :class:`DataError` for missing columns, unparseable dates or numbers, missing values,
    non-positive prices, ``High < Low``, negative volume and dates that are duplicated or out of
    order. ``line_offset`` turns row numbers into file line numbers in messages.
    """
    prefix = f"{source}: " if source else ""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{prefix}bars must be a pandas DataFrame, got {type(data).__name__}")
    frame = data.set_axis([str(c).strip() for c in data.columns], axis=1)
    lowered = {c.lower(): c for c in frame.columns}

    if isinstance(frame.index, pd.DatetimeIndex):
        raw_dates: Any = frame.index
    else:
        date_col = next((lowered[name] for name in DATE_NAMES if name in lowered), None)
        if date_col is None:
            raise DataError(
                f"{prefix}missing column: Date (or Datetime); found "
                + ", ".join(map(str, frame.columns))
            )
        raw_dates = frame[date_col]
    if len(frame) == 0:
        raise DataError(f"{prefix}no bars (the data is empty)")

    renamed: dict[str, str] = {}
    for col in frame.columns:
        canon = CANONICAL.get(col.lower())
        if canon is not None and canon not in renamed.values():
            renamed[col] = canon
    frame = frame.rename(columns=renamed)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{prefix}missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )

    dates = _parse_dates(raw_dates, prefix, line_offset)
    columns = bar_columns("Adj Close" in frame.columns)
    arrays: dict[str, np.ndarray] = {}
    for col in columns:
        if col == "Volume" and col not in frame.columns:
            arrays[col] = np.zeros(len(frame))
        elif frame[col].dtype == np.float64:
            arrays[col] = frame[col].to_numpy(dtype=np.float64)
        else:
            arrays[col] = pd.to_numeric(frame[col], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    if not numbers_are_clean(arrays):
        _raise_number_error(frame, arrays, columns, dates, prefix, line_offset)

    # Index objects are immutable and pandas caches these two answers on them, so a frame
    # that was validated before (or comes from a loader) clears this check for free.
    if not (dates.is_monotonic_increasing and dates.is_unique):
        _check_date_order(dates, prefix, line_offset)
    if (
        list(data.columns) == columns
        and isinstance(data.index, pd.DatetimeIndex)
        and data.index.equals(dates)
        and all(data[c].dtype == np.float64 for c in columns)
    ):
        # Already a bars frame: share its data (copy-on-write keeps it safe) instead of copying.
        out = data.copy(deep=False)
        out.index = dates if dates.name == "Date" else dates.rename("Date")
        return out
    return pd.DataFrame(arrays, index=dates.rename("Date"))


def _check_date_order(dates: pd.DatetimeIndex, prefix: str, line_offset: int | None) -> None:
    """Raise :class:`DataError` at the first date that repeats or goes back in time."""
    ns = dates.asi8
    step = np.diff(ns)
    dup = np.flatnonzero(step == 0)
    back = np.flatnonzero(step < 0)
    if len(dup) and (not len(back) or dup[0] < back[0]):
        i = int(dup[0]) + 1
        raise DataError(
            f"{prefix}{_describe(i, dates[i], line_offset)}: duplicate date (same as row {i})"
        )
    if len(back):
        i = int(back[0]) + 1
        raise DataError(
            f"{prefix}{_describe(i, dates[i], line_offset)}: dates are not in ascending order "
            f"(row {i} is dated {dates[i - 1].isoformat()})"
        )


def _parse_dates(raw: Any, prefix: str, line_offset: int | None) -> pd.DatetimeIndex:
    if isinstance(raw, pd.DatetimeIndex):
        idx = raw
    else:
        values = pd.Series(raw).reset_index(drop=True)
        missing = values.isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise DataError(f"{prefix}{_describe(i, None, line_offset)}: Date is missing")
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601"))
        except (ValueError, TypeError):
            parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
            bad = np.flatnonzero(parsed.isna().to_numpy())
            if len(bad):
                i = int(bad[0])
                raise DataError(
                    f"{prefix}{_describe(i, None, line_offset)}: Date {values.iloc[i]!r} is not "
                    "a date"
                ) from None
            idx = pd.DatetimeIndex(parsed)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    elif str(idx.tz) != "UTC":
        idx = idx.tz_convert("UTC")
    if idx.hasnans:
        i = int(np.flatnonzero(idx.isna())[0])
        raise DataError(f"{prefix}{_describe(i, None, line_offset)}: Date is missing")
    if idx.unit == "ns":
        # The same index object when nothing changes, so pandas' cached checks carry over.
        return idx
    try:
        return idx.as_unit("ns")
    except pd.errors.OutOfBoundsDatetime:
        outside = (idx < pd.Timestamp.min.tz_localize("UTC")) | (
            idx > pd.Timestamp.max.tz_localize("UTC")
        )
        i = int(np.flatnonzero(outside)[0]) if outside.any() else 0
        raise DataError(
            f"{prefix}{_describe(i, None, line_offset)}: Date {idx[i].date().isoformat()} is "
            f"outside the supported range {pd.Timestamp.min.date()} to "
            f"{pd.Timestamp.max.date()}"
        ) from None


def _raise_number_error(
    frame: pd.DataFrame,
    arrays: dict[str, np.ndarray],
    columns: list[str],
    dates: pd.DatetimeIndex,
    prefix: str,
    line_offset: int | None,
) -> None:
    """Raise :class:`DataError` for the first bad number: missing or unparseable values in
    column order, then prices that are not positive or volume that is negative, then
    ``High < Low``."""
    for col in columns:
        numbers = arrays[col]
        bad = np.flatnonzero(~np.isfinite(numbers))
        if not len(bad):
            continue
        i = int(bad[0])
        original = frame[col].reset_index(drop=True).iloc[i]
        where = _describe(i, dates[i], line_offset)
        if pd.isna(original) or (isinstance(original, str) and not original.strip()):
            raise DataError(f"{prefix}{where}: {col} is missing")
        raise DataError(f"{prefix}{where}: {col} is not a number ({original!r})")
    for col in columns:
        values = arrays[col]
        bad = np.flatnonzero(values < 0 if col == "Volume" else values <= 0)
        if len(bad):
            i = int(bad[0])
            what = "negative" if col == "Volume" else "not positive"
            raise DataError(
                f"{prefix}{_describe(i, dates[i], line_offset)}: {col} is {what} ({values[i]:g})"
            )
    for col in columns:
        if col == "Volume":
            continue
        values = arrays[col]
        bad = np.flatnonzero(values >= MAX_BAR_PRICE)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{prefix}{_describe(i, dates[i], line_offset)}: {col} ({values[i]:g}) is not "
                f"below {MAX_BAR_PRICE:g}, the largest price the ledger takes"
            )
    high = arrays["High"]
    low = arrays["Low"]
    bad = np.flatnonzero(high < low)
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"{prefix}{_describe(i, dates[i], line_offset)}: High ({high[i]:g}) is below "
            f"Low ({low[i]:g})"
        )


def from_dataframe(data: pd.DataFrame) -> pd.DataFrame:
    """A validated bars frame from a DataFrame (see :func:`validate_bars`)."""
    return validate_bars(data)


def load_csv(path: str | Path, *, adjusted: bool = False) -> pd.DataFrame:
    """Load bars from a CSV file in Yahoo Finance's export format.

    Columns ``Date`` or ``Datetime``, ``Open``, ``High``, ``Low``, ``Close`` and optional
    ``Adj Close`` and ``Volume``, in any case and order. The three-line header that
    ``yfinance``'s ``DataFrame.to_csv`` writes (``Price``/``Ticker``/``Date`` rows) is read too.
    With ``adjusted=True`` and an ``Adj Close`` column, Open/High/Low/Close are scaled by
    ``Adj Close / Close`` (split and dividend adjusted prices).

    The file is read as typed columns by pyarrow's CSV reader and checked with array
    operations. A file that does not pass is read again cell by cell as text, which names the
    first bad cell, its row and its line (:class:`DataError`).
    """
    path = Path(path)
    data = read_file(path)
    bars = _read_columns(data, path)
    if bars is None:
        bars = read_csv_text(data, path)
    return adjust_prices(bars) if adjusted else bars


def _read_columns(data: bytes, path: Path) -> pd.DataFrame | None:
    """The bars frame of a file :func:`~tradepulse.backtest.barcolumns.parse` vouches for."""
    columns = parse(data)
    return None if columns is None else frame_of(columns)


def frame_of(columns: BarColumns) -> pd.DataFrame:
    """A bars frame on ``columns``' arrays (not copied: they are checked already)."""
    index = pd.DatetimeIndex(columns.dates.view("M8[ns]"), name="Date").tz_localize("UTC")
    return pd.DataFrame(columns.values, index=index, copy=False)


def read_csv_text(data: bytes, path: Path) -> pd.DataFrame:
    """Read every cell as text and check it (:func:`validate_bars`), naming the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
    lines = text.splitlines()
    found = header(lines)
    header_lines = 1
    if found is not None and found[1] == 3:
        names, header_lines = found
        text = ",".join(names) + "\n" + "\n".join(lines[3:])
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a valid CSV file ({exc})") from None
    frame = frame.replace(dict.fromkeys(NULL_WORDS, np.nan))
    return validate_bars(frame, source=str(path), line_offset=header_lines + 1)


def adjust_prices(bars: pd.DataFrame) -> pd.DataFrame:
    """Scale Open/High/Low/Close by ``Adj Close / Close`` (no change without ``Adj Close``)."""
    if "Adj Close" not in bars.columns:
        return bars
    out = bars.copy()
    ratio = out["Adj Close"] / out["Close"]
    for col in PRICE_COLUMNS:
        out[col] = out[col] * ratio
    return out


def download(ticker: str, *, period: str = "1y", interval: str = "1d") -> pd.DataFrame:
    """Download bars for ``ticker`` from Yahoo Finance with yfinance.

    Raises :class:`DataError` ("could not download AAPL from Yahoo Finance: ...") when offline,
    rate-limited, or when Yahoo returns nothing for the symbol.
    """
    import yfinance as yf  # imported here: slow to import and only needed online

    prefix = f"could not download {ticker} from Yahoo Finance"
    if not ticker or not ticker.strip():
        raise DataError(f"{prefix}: empty ticker symbol")
    # yfinance logs each failed request itself; the DataError below is the one report.
    yf_logger = logging.getLogger("yfinance")
    level = yf_logger.level
    yf_logger.setLevel(logging.CRITICAL + 1)
    try:
        frame = yf.Ticker(ticker.strip()).history(
            period=period, interval=interval, auto_adjust=False, raise_errors=True
        )
    except Exception as exc:  # yfinance raises many unrelated types; all mean "no data"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{prefix}: {reason}") from None
    finally:
        yf_logger.setLevel(level)
    if frame is None or frame.empty:
        raise DataError(f"{prefix}: no data returned (offline, or unknown symbol?)")
    frame = frame[[c for c in frame.columns if c.lower() in CANONICAL]]
    return validate_bars(frame, source=f"{ticker} from Yahoo Finance")


def synthetic_bars(
    n: int,
    *,
    seed: int = 0,
    start: str | pd.Timestamp = "2000-01-03",
    freq: str = "1D",
    price: float = 100.0,
    volatility: float = 0.02,
    reversion: float = 0.002,
) -> pd.DataFrame:
    """``n`` reproducible random bars (same ``seed``, same bars).

    Log prices follow a mean-reverting random walk around ``price`` (per-bar volatility
    ``volatility``, pull ``reversion`` per bar), so prices stay in a realistic band even over
    millions of bars. Bars are spaced by ``freq`` (a pandas frequency, e.g. ``"1D"``,
    ``"1h"``, ``"1min"``) from ``start`` (UTC).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise DataError(f"synthetic data needs a whole number of bars >= 2, got {n!r}")
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, OverflowError):  # "99999999999999999999D" overflows
        raise DataError(
            f"unknown bar frequency {freq!r} (try 1D, 1h or 1min)", field="freq"
        ) from None
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tz is None else first.tz_convert("UTC")
    if step <= pd.Timedelta(0):
        raise DataError(f"bar frequency must be positive, got {freq!r}", field="freq")
    try:
        last = first + step * (int(n) - 1)
    except (OverflowError, ValueError):  # pandas' OutOfBoundsDatetime and OutOfBoundsTimedelta
        last = None
    if last is None or last.year > 2200:
        raise DataError(
            f"{n} bars of {freq} from {first.date()} run past year 2200; use a shorter --freq "
            "(e.g. 1min)",
            field="freq",
        )
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, volatility, size=int(n))
    log_dev = linear_recurrence(shocks, 1.0 - reversion, 0.0)
    close = price * np.exp(log_dev)
    gap = rng.normal(0.0, volatility / 4, size=int(n))
    open_ = np.empty(int(n))
    open_[0] = price
    open_[1:] = close[:-1] * np.exp(gap[1:])
    wick = np.abs(rng.normal(0.0, volatility / 2, size=(2, int(n))))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = np.floor(rng.lognormal(10.0, 0.5, size=int(n)))
    index = pd.date_range(first, periods=int(n), freq=step, name="Date", unit="ns")
    bars = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )
    return bars


class TickLike(Protocol):
    """What :func:`bars_from_ticks` reads from a tick."""

    ticker: str
    price: float
    timestamp: Any  # timezone-aware datetime


def bars_from_ticks(
    ticks: Iterable[TickLike],
    interval: str | timedelta | pd.Timedelta,
    *,
    ticker: str | None = None,
) -> pd.DataFrame:
    """Aggregate ticks into OHLCV bars of length ``interval`` (aligned to UTC multiples).

    Each tick needs ``.ticker``, ``.price``, ``.timestamp`` (timezone-aware) and may have
    ``.volume`` (missing or ``None`` counts as 0). Ticks are ordered by timestamp (stable, so
    ticks with equal timestamps keep their order); a bar's date is its interval start; intervals
    without ticks produce no bar. All ticks must share one ticker (or pass ``ticker`` to keep
    only that symbol's ticks). Raises :class:`DataError` on naive timestamps, non-positive
    prices, mixed tickers or no ticks.
    """
    try:
        step = pd.Timedelta(interval)
    except ValueError:
        raise DataError(f"unknown bar interval {interval!r} (try '1min' or a timedelta)") from None
    if step <= pd.Timedelta(0):
        raise DataError(f"bar interval must be positive, got {interval!r}")
    symbols: list[str] = []
    stamps: list[int] = []
    prices: list[float] = []
    volumes: list[float] = []
    for tick in ticks:
        if ticker is not None and tick.ticker != ticker:
            continue
        when = tick.timestamp
        if getattr(when, "tzinfo", None) is None or when.utcoffset() is None:
            raise DataError(f"tick {len(stamps) + 1} of {tick.ticker}: timestamp {when!r} is naive")
        symbols.append(tick.ticker)
        stamps.append(pd.Timestamp(when).as_unit("ns").value)
        prices.append(float(tick.price))
        vol = getattr(tick, "volume", None)
        volumes.append(0.0 if vol is None else float(vol))
    if not stamps:
        raise DataError("no ticks to aggregate" + (f" for {ticker}" if ticker else ""))
    distinct = sorted(set(symbols))
    if len(distinct) > 1:
        raise DataError(f"ticks mix several tickers ({', '.join(distinct)}); pass ticker=")
    price_arr = np.asarray(prices)
    bad = np.flatnonzero(~(price_arr > 0) | ~np.isfinite(price_arr))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"tick {i + 1} of {distinct[0]}: price is not positive ({prices[i]!r})")
    ns = np.asarray(stamps, dtype=np.int64)
    order = np.argsort(ns, kind="stable")
    ns, price_arr = ns[order], price_arr[order]
    vol_arr = np.asarray(volumes)[order]
    width = step.value
    bucket = ns // width
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ns)] - 1
    bars = pd.DataFrame(
        {
            "Open": price_arr[starts],
            "High": np.maximum.reduceat(price_arr, starts),
            "Low": np.minimum.reduceat(price_arr, starts),
            "Close": price_arr[ends],
            "Volume": np.add.reduceat(vol_arr, starts),
        },
        index=pd.DatetimeIndex(
            pd.to_datetime(bucket[starts] * width, unit="ns", utc=True), name="Date"
        ),
    )
    return bars
