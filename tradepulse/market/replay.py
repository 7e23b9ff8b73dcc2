"""Replay of recorded ticks from a CSV file, at recorded pace, faster, or at once."""

from __future__ import annotations

import asyncio
import csv
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .base import MarketDataProvider
from .ticks import (
    ProviderState,
    Tick,
    TickFormatError,
    parse_number,
    parse_ticker,
    parse_timestamp,
)

__all__ = ["ReplayProvider", "TickFileError", "read_tick_csv"]

REQUIRED_COLUMNS = ("ticker", "timestamp", "price")
OPTIONAL_COLUMNS = ("volume",)
_INF = math.inf


class TickFileError(ValueError):
    """A tick CSV that cannot be read. `line` is the 1-based line number, when known."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path} line {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


def read_tick_csv(path: str | Path) -> Iterator[Tick]:
    """Yield the ticks of a CSV file with a header naming `ticker,timestamp,price[,volume]`.

    Columns may come in any order; other columns are ignored; an empty volume cell means no
    volume. Timestamps are ISO 8601 (no offset = UTC). Raises `TickFileError` naming the file
    and line for a missing file, a missing header column, or a bad row.
    """
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise TickFileError(path, None, exc.strerror or str(exc)) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise TickFileError(path, 1, "file is empty (a header row is required)")
            columns = {name.strip().lower(): index for index, name in enumerate(header)}
            missing = [name for name in REQUIRED_COLUMNS if name not in columns]
            if missing:
                raise TickFileError(
                    path,
                    1,
                    f"header lacks column(s) {', '.join(missing)} (need ticker,timestamp,price)",
                )
            i_ticker, i_time, i_price = (columns[name] for name in REQUIRED_COLUMNS)
            i_volume = columns.get("volume")
            needed = max(i_ticker, i_time, i_price)
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) <= needed:
                    raise TickFileError(
                        path, line, f"expected {len(header)} fields, found {len(row)}"
                    )
                try:
                    price_cell = row[i_price].strip()
                    try:
                        price = float(price_cell)
                    except ValueError:
                        raise TickFormatError(f"price {price_cell!r} is not a number") from None
                    if not 0.0 < price < _INF:
                        parse_number("price", price, positive=True)  # raises, naming it
                    volume_cell = (
                        row[i_volume].strip()
                        if i_volume is not None and i_volume < len(row)
                        else ""
                    )
                    volume: float | None = None
                    if volume_cell:
                        try:
                            volume = float(volume_cell)
                        except ValueError:
                            raise TickFormatError(
                                f"volume {volume_cell!r} is not a number"
                            ) from None
                        if not 0.0 <= volume < _INF:
                            parse_number("volume", volume, positive=False)  # raises
                    # Each field is read once, here; the tick is not checked again.
                    yield Tick.from_parsed(
                        parse_ticker(row[i_ticker]),
                        price,
                        parse_timestamp(row[i_time]),
                        volume,
                    )
                except TickFormatError as exc:
                    raise TickFileError(path, line, str(exc)) from None
        except csv.Error as exc:
            raise TickFileError(path, reader.line_num, f"malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise TickFileError(path, reader.line_num + 1, "not UTF-8 text") from None


class ReplayProvider(MarketDataProvider):
    """Replays a tick CSV (see `read_tick_csv`).

    Options: `speed` is a multiple of the recorded pace (1 = as recorded, 10 = ten times
    faster, 0 = as fast as the consumer takes them); `loop` starts over at the end, shifting
    timestamps so they keep increasing; `rebase` shifts all timestamps so the first tick is
    stamped with the moment the replay starts (default: recorded times are kept).
    `sleep` and `monotonic` replace the event loop's sleep and clock (for tests).

    The whole file is checked when the provider is built, so a bad row fails at once with
    `TickFileError` naming its line. An empty subscription replays every ticker in the
    file; otherwise only subscribed tickers are emitted (the pace still follows the file).
    Without `loop` the stream ends after the last row.
    """

    name = "replay"
    empty_means_all = True

    def __init__(
        self,
        path: str | Path,
        tickers: Iterable[str] = (),
        *,
        speed: float = 1.0,
        loop: bool = False,
        rebase: bool = False,
        monotonic: Callable[[], float] | None = None,
        **options: object,
    ) -> None:
        super().__init__(tickers, **options)  # type: ignore[arg-type]
        # Pace is kept against this clock (default: the event loop's); tests pass a fake one
        # together with a fake `sleep`.
        self._monotonic = monotonic
        if speed < 0:
            raise ValueError("speed must be >= 0 (0 = as fast as possible)")
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.rebase = rebase
        first: datetime | None = None
        last: datetime | None = None
        tickers_in_file: set[str] = set()
        count = 0
        for tick in read_tick_csv(self.path):
            first = first or tick.timestamp
            last = tick.timestamp
            tickers_in_file.add(tick.ticker)
            count += 1
        self.file_tickers: frozenset[str] = frozenset(tickers_in_file)
        self.tick_count = count
        self._first = first
        self._last = last

    async def _produce(self) -> None:
        await self._status(
            ProviderState.CONNECTED,
            f"replaying {self.path.name} ({self.tick_count} ticks) at "
            + (f"{self.speed:g}x recorded pace" if self.speed else "full speed"),
        )
        if self._first is None or self._last is None:
            return
        now = self._monotonic or asyncio.get_running_loop().time
        offset = datetime.now(UTC) - self._first if self.rebase else timedelta(0)
        # One recorded second between the end of a pass and the start of the next.
        span = self._last - self._first + timedelta(seconds=1)
        while True:
            started = now()
            emitted = 0
            for tick in read_tick_csv(self.path):
                if self.speed > 0:
                    due = started + (tick.timestamp - self._first).total_seconds() / self.speed
                    delay = due - now()
                    if delay > 0:
                        await self._sleep(delay)
                elif emitted % 500 == 0:
                    # Full speed: let other tasks (and the server's writes) run now and then.
                    await asyncio.sleep(0)
                if not self.wants(tick.ticker):
                    continue
                if offset:
                    tick = Tick(tick.ticker, tick.price, tick.timestamp + offset, tick.volume)
                await self._emit(tick)
                emitted += 1
            if not self.loop:
                return
            offset += span
