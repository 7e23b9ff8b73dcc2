"""Bars as checked columns, read from a CSV file without pandas.

This module holds the vocabulary of a bars file (which column names mean what) and the fast
reader: pyarrow's CSV reader into typed columns, checked with array operations. It answers
``None`` for any file it cannot vouch for; :func:`tradepulse.backtest.data.load_csv` then reads
that file again cell by cell and names the first problem. Commands that only need figures
(``python -m tradepulse.backtest --csv``) run on these arrays and never load pandas.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tradepulse.trades import MAX_PRICE

from .errors import DataError

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
CANONICAL = {
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "adj close": "Adj Close",
    "adj_close": "Adj Close",
    "adjclose": "Adj Close",
    "volume": "Volume",
}
DATE_NAMES = ("date", "datetime", "timestamp", "time")
#: Cells read as missing values.
NULL_WORDS = ("", "null", "NaN", "nan")

# Bars per slice when checking numbers: each slice is read from memory once and its second
# reduction hits the CPU cache, instead of one pass over all the data per reduction.
_CHECK_CHUNK = 1 << 16


@dataclass(frozen=True)
class BarColumns:
    """Checked bars: ``dates`` in UTC nanoseconds, ascending and unique; ``values`` maps the
    columns of a bars frame, in its order (Open, High, Low, Close, Volume, then Adj Close when
    the file has it), to float64 arrays with positive prices and High >= Low."""

    dates: npt.NDArray[np.int64]
    values: dict[str, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.dates)


def bar_columns(has_adj_close: bool) -> list[str]:
    """The columns of a bars frame, in order."""
    return [*PRICE_COLUMNS, "Volume", *(["Adj Close"] if has_adj_close else [])]


def read_file(path: str | Path) -> bytes:
    """The bytes of ``path``; :class:`DataError` naming the file when it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None


def header(lines: list[str]) -> tuple[list[str], int] | None:
    """Column names and the number of header lines (yfinance writes three), from the first
    lines of the file."""
    if not lines:
        return None
    if (
        len(lines) >= 3
        and lines[0].lower().startswith("price,")
        and lines[1].lower().startswith("ticker,")
    ):
        # yfinance's multi-level header: Price,<columns> / Ticker,<symbols> / Date,,,,
        names = lines[0].split(",")
        names[0] = lines[2].split(",")[0] or "Date"
        return names, 3
    return lines[0].split(","), 1


# The ledger's bound on a price (exclusive): bars past it are refused, so that no figure of a
# backtest (equity, plot axes) overflows.
MAX_BAR_PRICE = float(MAX_PRICE)


def numbers_are_clean(arrays: dict[str, np.ndarray]) -> bool:
    """Whether every number is finite, prices positive and below ``MAX_BAR_PRICE``, volume not
    negative, High >= Low."""
    n = len(arrays["Close"])
    with np.errstate(invalid="ignore"):
        for start in range(0, n, _CHECK_CHUNK):
            end = start + _CHECK_CHUNK
            for col, values in arrays.items():
                part = values[start:end]
                low, high = part.min(), part.max()
                # NaN fails both comparisons (min/max propagate it).
                if col == "Volume":
                    if not (low >= 0 and high < np.inf):
                        return False
                elif not (low > 0 and high < MAX_BAR_PRICE):
                    return False
            if (arrays["High"][start:end] < arrays["Low"][start:end]).any():
                return False
    return True


def parse(data: bytes) -> BarColumns | None:
    """The bars of a well-formed file, read as typed columns; None when the file has anything
    for the text reader to name (or a form left to it, such as quoted header names)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    head = data[:4096].decode("utf-8", errors="replace").split("\n")[:4]
    lines = [line.rstrip("\r") for line in head]
    found = header(lines[:-1] if len(head) == 4 else lines)
    if found is None or '"' in lines[0]:
        return None
    names, header_lines = found
    stripped = [name.strip() for name in names]
    if len({name.lower() for name in stripped}) != len(stripped):
        return None  # repeated names: the text reader renames them as pandas does
    lowered = {name.lower(): i for i, name in enumerate(stripped)}
    date_at = next((lowered[name] for name in DATE_NAMES if name in lowered), None)
    chosen: dict[str, int] = {}
    for i, name in enumerate(stripped):
        canon = CANONICAL.get(name.lower())
        if canon is not None and canon not in chosen:
            chosen[canon] = i
    if date_at is None or any(c not in chosen for c in PRICE_COLUMNS):
        return None
    # Whether dates carry an offset, from the first row; a file mixing both is left to the
    # text reader.
    if len(lines) <= header_lines:
        return None
    cells = lines[header_lines].split(",")
    if len(cells) <= date_at:
        return None
    first_date = cells[date_at].strip()
    try:
        zoned = first_date.endswith(("Z", "z")) or (
            datetime.fromisoformat(first_date).tzinfo is not None
        )
    except ValueError:
        return None

    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = [f"c{i}" for i in range(len(names))]
    types: dict[str, Any] = {columns[date_at]: pa.timestamp("ns", tz="UTC" if zoned else None)}
    types.update({columns[i]: pa.float64() for i in chosen.values()})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=header_lines),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                null_values=list(NULL_WORDS),
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(column.null_count for column in table.columns) or table.num_rows == 0:
        return None
    dates = _array(table.column(columns[date_at]), np.int64)  # timestamps are int64 data
    if len(dates) > 1 and not (np.diff(dates) > 0).all():
        return None  # repeated or unordered dates
    values: dict[str, npt.NDArray[np.float64]] = {}
    for name in bar_columns("Adj Close" in chosen):
        if name in chosen:
            values[name] = _array(table.column(columns[chosen[name]]), np.float64)
        else:
            values[name] = np.zeros(len(dates))
    if not numbers_are_clean(values):
        return None
    return BarColumns(dates, values)


def _array(column: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A column without nulls as one NumPy array of its own (writable: bars are the caller's
    to change). Read from the chunks' data buffers, because ``to_numpy`` makes pyarrow load
    pandas."""
    size = np.dtype(dtype).itemsize
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * size)
        for chunk in column.chunks
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype)
