"""Reads for the export: which days have trades, and one day's trades as CSV bytes.

A day is the UTC calendar day, selected as ``day <= timestamp < day + 1`` so the index on
``(timestamp, id)`` serves it (``timestamp__date`` would wrap the column in a conversion).
Rows are ordered by timestamp then id, so exporting the same day twice gives the same bytes.

Two ways to produce the same bytes:

- ``copy`` (PostgreSQL): ``COPY (SELECT ...) TO STDOUT WITH CSV`` through psycopg 3, with the
  timestamp and decimals formatted by the SELECT exactly as the Python formatter does;
- ``orm`` (any database): ``values_list().iterator()`` through ``format_row``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date
from typing import Literal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.functions import TruncDate

from ledger.models import Trade
from ledger.representation import (
    DECIMAL_FIELDS,
    TEXT_FIELDS,
    TIMESTAMP_FIELDS,
    decimal_text_sql,
    timestamp_text_sql,
)
from ledger.selectors import db_column
from tradepulse.analysis import HEADER, HEADER_LINE, format_row
from tradepulse.csvcells import escape_cell_sql
from tradepulse.timeutil import day_bounds

ExportMethod = Literal["copy", "orm"]

# Every line ends in "\n", which is what PostgreSQL's CSV output uses.
HEADER_BYTES = (HEADER_LINE + "\n").encode()
# Rows are handed on in blocks of about this many bytes.
BLOCK_SIZE = 1024 * 1024
_ORM_BATCH = 5000
# The export file's columns are ``tradepulse.analysis.HEADER``; each is the ``Trade`` field of
# the same name, except these two.
TRADE_ID_COLUMN, USER_COLUMN = "trade_id", "user"


def column_field(column: str) -> str:
    """The ``Trade`` field (or ``owner`` for the user name) of an export column."""
    return {TRADE_ID_COLUMN: "id", USER_COLUMN: "owner"}.get(column, column)


def export_lookups() -> list[str]:
    """The ORM lookups giving the export's columns in ``HEADER`` order."""
    user_field = get_user_model().USERNAME_FIELD
    return [
        f"owner__{user_field}" if column == USER_COLUMN else column_field(column)
        for column in HEADER
    ]


def day_trades(day: date):
    start, end = day_bounds(day)
    return Trade.objects.filter(timestamp__gte=start, timestamp__lt=end)


def day_has_trades(day: date) -> bool:
    return day_trades(day).exists()


def day_trade_count(day: date) -> int:
    return day_trades(day).count()


def trade_days(start: date | None = None, end: date | None = None) -> list[date]:
    """The UTC days (ascending) that have at least one trade, optionally within
    ``start``..``end`` (both inclusive)."""
    queryset = Trade.objects.all()
    if start is not None:
        queryset = queryset.filter(timestamp__gte=day_bounds(start)[0])
    if end is not None:
        queryset = queryset.filter(timestamp__lt=day_bounds(end)[1])
    days = (
        queryset.annotate(day=TruncDate("timestamp", tzinfo=UTC))
        .order_by("day")
        .values_list("day", flat=True)
        .distinct()
    )
    return list(days)


def default_method() -> ExportMethod:
    return "copy" if connection.vendor == "postgresql" else "orm"


def day_csv_blocks(day: date, *, method: ExportMethod | None = None) -> Iterator[tuple[bytes, int]]:
    """Stream the day's CSV (header first) as ``(bytes, rows in those bytes)`` blocks.

    Memory stays at about one block whatever the number of trades. ``method`` defaults to
    ``copy`` on PostgreSQL and ``orm`` elsewhere; both give identical bytes.
    """
    method = method or default_method()
    yield HEADER_BYTES, 0
    if method == "copy":
        yield from _copy_blocks(day)
    elif method == "orm":
        yield from _orm_blocks(day)
    else:
        raise ValueError(f"unknown export method {method!r}")


def _orm_blocks(day: date) -> Iterator[tuple[bytes, int]]:
    rows = (
        day_trades(day)
        .order_by("timestamp", "id")
        .values_list(*export_lookups())
        .iterator(chunk_size=_ORM_BATCH)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    batch: list[list[str]] = []
    for row in rows:
        batch.append(format_row(*row))
        if len(batch) == _ORM_BATCH:
            writer.writerows(batch)
            yield buffer.getvalue().encode(), len(batch)
            buffer.seek(0)
            buffer.truncate()
            batch.clear()
    if batch:
        writer.writerows(batch)
        yield buffer.getvalue().encode(), len(batch)


def copy_statement() -> str:
    """The ``COPY ... TO STDOUT`` giving the export's rows (two parameters: start, end).

    Each column of ``HEADER`` is written by the SQL twin of what ``format_row`` does to it
    (``ledger.representation``): decimals by ``trim_scale`` (``187.25000000`` -> ``187.25``),
    timestamps in the one output form, text (tickers, user names) escaped against spreadsheet
    formulas.
    """
    User = get_user_model()
    quote = connection.ops.quote_name
    fields = {column_field(c) for c in HEADER} | {"timestamp", "id"}
    col = {f: "t." + quote(db_column(Trade, f)) for f in fields}
    username = "u." + quote(db_column(User, User.USERNAME_FIELD))
    user_pk = User._meta.pk
    assert user_pk is not None and user_pk.column

    def select(column: str) -> str:
        if column == USER_COLUMN:
            return escape_cell_sql(username)
        field = column_field(column)
        if field in DECIMAL_FIELDS:
            return decimal_text_sql(col[field])
        if field in TIMESTAMP_FIELDS:
            return timestamp_text_sql(col[field])
        if field in TEXT_FIELDS:
            return escape_cell_sql(col[field])
        return col[field]

    return (
        f"COPY (SELECT {', '.join(select(c) for c in HEADER)} "
        f"FROM {quote(Trade._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(user_pk.column)} = {col['owner']} "
        f"WHERE {col['timestamp']} >= %s AND {col['timestamp']} < %s "
        f"ORDER BY {col['timestamp']}, {col['id']}) TO STDOUT WITH (FORMAT csv)"
    )


def _copy_blocks(day: date) -> Iterator[tuple[bytes, int]]:
    start, end = day_bounds(day)
    block = bytearray()
    rows = 0
    # The psycopg cursor itself: Django's debug wrapper (DEBUG=True) takes no COPY parameters.
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(copy_statement(), (start, end)) as copy,
    ):
        # The server sends each row of a COPY TO in its own message, and psycopg hands
        # each message on as it is: one item is one row.
        for row in copy:
            block += row
            rows += 1
            if len(block) >= BLOCK_SIZE:
                yield bytes(block), rows
                block.clear()
                rows = 0
    if block:
        yield bytes(block), rows
