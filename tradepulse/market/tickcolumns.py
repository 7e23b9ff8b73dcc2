"""A tick CSV read as columns (pyarrow's CSV reader), for tools that take a whole file at once.

:func:`read_tick_columns` accepts exactly the files :func:`~tradepulse.market.replay.read_tick_csv`
accepts and reads the same values from them, or answers ``None``: for a file with a bad row (or a
form this reader leaves to the row reader, such as a timestamp with more than six fraction
digits), the row reader is the one that names the problem and its line. Each field is parsed once,
by pyarrow in C; tickers are checked once per distinct spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tradepulse.symbols import InvalidTicker, normalize_ticker

from .replay import REQUIRED_COLUMNS

__all__ = ["TickColumns", "read_tick_columns"]


@dataclass(frozen=True, slots=True)
class TickColumns:
    """The ticks of a file, in file order: ``ticker_code[i]`` indexes ``tickers`` (upper-case,
    distinct), ``t_us`` is the event time in microseconds since the epoch (UTC), ``volume`` is
    NaN where the file has none."""

    tickers: list[str]
    ticker_code: npt.NDArray[np.int64]
    t_us: npt.NDArray[np.int64]
    price: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.price)


def _has_zone(cell: str) -> bool | None:
    """Whether a timestamp cell carries a UTC offset (None when it is not ISO 8601)."""
    text = cell.strip()
    if text.endswith(("z", "Z")):
        return True
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return None


def read_tick_columns(path: str | Path) -> TickColumns | None:
    """The ticks of a CSV with a ``ticker,timestamp,price[,volume]`` header as columns, or None
    when the row reader must judge the file (see the module docstring)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    end = data.find(b"\n")
    header_line = (data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    if '"' in header_line or end < 0:
        return None
    header = header_line.split(",")
    # The row reader's rule: names in any case, the last of a repeated name counts.
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    if any(name not in index for name in REQUIRED_COLUMNS):
        return None
    i_ticker, i_time, i_price = (index[name] for name in REQUIRED_COLUMNS)
    i_volume = index.get("volume")
    # Whether times carry an offset, from the first row (a file that mixes both forms is left
    # to the row reader).
    row_end = data.find(b"\n", end + 1)
    cells = data[end + 1 : row_end if row_end >= 0 else None].decode("utf-8").split(",")
    if len(cells) <= i_time:
        return None
    zoned = _has_zone(cells[i_time])
    if zoned is None:
        return None

    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(header))]
    types = {
        names[i_ticker]: pa.dictionary(pa.int32(), pa.string()),
        names[i_time]: pa.timestamp("us", tz="UTC" if zoned else None),
        names[i_price]: pa.float64(),
    }
    wanted = [names[i_ticker], names[i_time], names[i_price]]
    if i_volume is not None:
        types[names[i_volume]] = pa.float64()
        wanted.append(names[i_volume])
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=wanted,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    ticker_col, time_col, price_col = (table.column(name) for name in wanted[:3])
    if ticker_col.null_count or time_col.null_count or price_col.null_count:
        return None
    price = _numpy(price_col, np.float64)
    if not len(price):
        return _empty()
    if not bool(((price > 0.0) & (price < np.inf)).all()):
        return None
    if i_volume is not None:
        volume_col = table.column(wanted[3])
        volume = _numpy(volume_col, np.float64)
        given = volume
        if volume_col.null_count:  # an empty cell: no volume (a "nan" in the file is refused)
            present = _present(volume_col)
            given = volume[present]
            volume = np.where(present, volume, np.nan)
        if not bool(((given >= 0.0) & (given < np.inf)).all()):
            return None
    else:
        volume = np.full(len(price), np.nan)

    tickers_col = ticker_col.unify_dictionaries()
    spellings = tickers_col.chunk(0).dictionary.to_pylist() if tickers_col.num_chunks else []
    tickers: list[str] = []
    code_of: dict[str, int] = {}
    lookup = np.empty(len(spellings), dtype=np.int64)
    for i, spelling in enumerate(spellings):
        try:
            ticker = normalize_ticker(spelling)
        except InvalidTicker:
            return None
        lookup[i] = code_of.setdefault(ticker, len(tickers))
        if lookup[i] == len(tickers):
            tickers.append(ticker)
    raw_codes = np.concatenate(
        [_numpy(pa.chunked_array([chunk.indices]), np.int32) for chunk in tickers_col.chunks]
    )
    return TickColumns(
        tickers=tickers,
        ticker_code=lookup[raw_codes],
        t_us=_numpy(time_col.cast(pa.int64()), np.int64),
        price=np.ascontiguousarray(price, dtype=np.float64),
        volume=volume,
    )


def _numpy(column: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A fixed-width column's values (whatever is stored under nulls), read from its buffers:
    pyarrow's own to_numpy imports pandas, half a second of start-up, to do the same."""
    size = np.dtype(dtype).itemsize
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * size)
        for chunk in column.chunks
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _present(column: Any) -> npt.NDArray[np.bool_]:
    """Which values of a column are not null."""
    parts = []
    for chunk in column.chunks:
        bitmap = chunk.buffers()[0]
        if bitmap is None:
            parts.append(np.ones(len(chunk), dtype=bool))
            continue
        bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
        parts.append(bits[chunk.offset : chunk.offset + len(chunk)].astype(bool))
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _empty() -> TickColumns:
    return TickColumns([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
