"""The trade CSV: one file per UTC day, written by the exporter and read by the analysis.

Format (UTF-8, comma separated, ``\\r\\n`` or ``\\n`` line endings, fixed header)::

    trade_id,user,ticker,side,price,quantity,timestamp
    42,alice,AAPL,buy,187.25,10,2025-01-20T14:30:00.123456Z

- ``side`` is ``buy`` or ``sell``.
- ``user`` and ``ticker`` are written spreadsheet-safe (``tradepulse.csvcells``): one that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
  (user ``+1+1`` is written ``'+1+1``).
- ``price`` and ``quantity`` are exact decimals greater than zero, written in plain notation
  (no exponent) without trailing zeros: ``187.25``, ``10``, ``0.0001``.
- ``timestamp`` is written in one canonical form, UTC with microseconds and a ``Z`` suffix:
  ``2025-01-20T14:30:00.123456Z``. The reader is loose: it also accepts timestamps without a
  fraction or with a shorter one, a ``+00:00`` (or any other) offset, and a space instead of
  ``T``; a timestamp without an offset is read as UTC.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from tradepulse.csvcells import escape_cell

# The canonical timestamp is TradePulse's one output form; exporters that stream
# `COPY (SELECT ...) TO STDOUT WITH CSV` use its PostgreSQL spelling.
from tradepulse.timeutil import POSTGRES_TIMESTAMP_SQL as POSTGRES_TIMESTAMP_SQL
from tradepulse.timeutil import format_timestamp as format_timestamp

HEADER: tuple[str, ...] = ("trade_id", "user", "ticker", "side", "price", "quantity", "timestamp")
HEADER_LINE = ",".join(HEADER)
SIDES = frozenset({"buy", "sell"})


_INFINITY = Decimal("Infinity")


class MalformedRow(ValueError):
    """A row of the trade CSV that cannot be read.

    ``line_number`` is the 1-based line of the file (the header is line 1); ``field`` names the
    offending column, or is ``None`` when the row as a whole is wrong (e.g. its field count).
    """

    def __init__(self, line_number: int, reason: str, field: str | None = None) -> None:
        self.line_number = line_number
        self.reason = reason
        self.field = field
        where = f"line {line_number}" + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {reason}")


class BadHeader(MalformedRow):
    """The first line of the file is not the expected header."""

    def __init__(self, found: str | None) -> None:
        if found is None:
            reason = f"the file is empty; expected the header '{HEADER_LINE}'"
        else:
            reason = f"expected the header '{HEADER_LINE}', found '{found}'"
        super().__init__(1, reason, "header")


class TradeRow(NamedTuple):
    """One parsed and validated trade of the CSV."""

    trade_id: str
    user: str
    ticker: str
    side: str
    price: Decimal
    quantity: Decimal
    timestamp: datetime


def format_decimal(value: Decimal | int | str) -> str:
    """Plain notation, no exponent, no trailing zeros: ``Decimal('1.50E+2')`` -> ``'150'``."""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    # `-0` and `-0.00` are zero; a sign on zero only confuses readers of the file.
    return "0" if text in ("-0", "") else text


def parse_timestamp(text: str) -> datetime:
    """Read an ISO 8601 timestamp loosely (see the module docstring); the result is UTC-aware.

    Raises ``ValueError`` for anything that is not a date *and* a time.
    """
    if len(text) < 16:
        raise ValueError(f"not an ISO 8601 date and time: {text!r}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_row(
    trade_id: int | str,
    user: str,
    ticker: str,
    side: str,
    price: Decimal | int | str,
    quantity: Decimal | int | str,
    timestamp: datetime,
) -> list[str]:
    """The CSV fields of one trade in header order, ready for ``csv.writer.writerow``.

    ``side`` is written in lower case; raises ``ValueError`` if it is not buy or sell.
    ``user`` and ``ticker`` are escaped against spreadsheet formulas (``escape_cell``).
    """
    side = side.lower()
    if side not in SIDES:
        raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")
    return [
        str(trade_id),
        escape_cell(user),
        escape_cell(ticker),
        side,
        format_decimal(price),
        format_decimal(quantity),
        format_timestamp(timestamp),
    ]


def check_header(row: list[str] | None) -> None:
    """Raise ``BadHeader`` unless ``row`` (the first CSV row, ``None`` if none) is the header."""
    if row is None:
        raise BadHeader(None)
    if row and row[0].startswith("\ufeff"):
        row = [row[0][1:], *row[1:]]
    if tuple(row) != HEADER:
        raise BadHeader(",".join(row))


def parse_decimal(text: str, field: str, line_number: int) -> Decimal:
    """A finite decimal greater than zero, or ``MalformedRow`` naming the field."""
    try:
        value = Decimal(text)
        # NaN makes the comparison itself raise InvalidOperation.
        if 0 < value < _INFINITY:
            return value
    except InvalidOperation:
        raise MalformedRow(line_number, f"not a decimal number: {text!r}", field) from None
    raise MalformedRow(line_number, f"must be a number greater than 0, got {text!r}", field)


def validate_fields(row: list[str], line_number: int) -> TradeRow:
    """Check every field of one data row; raise ``MalformedRow`` naming the first bad one."""
    if len(row) != len(HEADER):
        raise MalformedRow(line_number, f"expected {len(HEADER)} fields, found {len(row)}")
    trade_id, user, ticker, side, price_text, quantity_text, timestamp_text = row
    for name, value in (("trade_id", trade_id), ("user", user), ("ticker", ticker)):
        if not value:
            raise MalformedRow(line_number, "must not be empty", name)
    if side not in SIDES:
        raise MalformedRow(line_number, f"must be 'buy' or 'sell', got {side!r}", "side")
    price = parse_decimal(price_text, "price", line_number)
    quantity = parse_decimal(quantity_text, "quantity", line_number)
    try:
        timestamp = parse_timestamp(timestamp_text)
    except ValueError:
        raise MalformedRow(
            line_number, f"not an ISO 8601 timestamp: {timestamp_text!r}", "timestamp"
        ) from None
    return TradeRow(trade_id, user, ticker, side, price, quantity, timestamp)


def iter_trades(lines: Iterable[str]) -> Iterator[TradeRow]:
    """Stream the validated trades of a CSV (header first), one row in memory at a time.

    Blank lines are skipped. Raises ``BadHeader`` or ``MalformedRow`` at the first bad line.
    """
    reader = csv.reader(lines)
    check_header(next(reader, None))
    for row in reader:
        if row:
            yield validate_fields(row, reader.line_num)
