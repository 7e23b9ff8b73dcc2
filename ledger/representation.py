"""How a trade looks on the wire (JSON and CSV), for the read paths that render many rows.

The shape is ``TradeSerializer``'s: its declared fields give the column list and which
columns are decimals or timestamps; :func:`trade_row` renders what it would, faster.

Read paths that list many trades fetch them with :func:`wire_values`. On PostgreSQL the
database then writes the timestamps and decimals in their wire form, so a page of trades is
not parsed into ``datetime`` and ``Decimal`` objects only to be formatted back into text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Func, QuerySet, TextField
from rest_framework import serializers

from api.serializers import DecimalStringField, TimestampField
from ledger.api.serializers import TradeSerializer
from tradepulse.timeutil import POSTGRES_TIMESTAMP_SQL, format_timestamp
from tradepulse.trades import format_decimal

_DECLARED = TradeSerializer().fields
FIELDS: tuple[str, ...] = tuple(TradeSerializer.Meta.fields)
DECIMAL_FIELDS = tuple(n for n in FIELDS if isinstance(_DECLARED[n], DecimalStringField))
TIMESTAMP_FIELDS = tuple(n for n in FIELDS if isinstance(_DECLARED[n], TimestampField))
# Columns of free or chosen text: a CSV writer escapes them against spreadsheet formulas.
TEXT_FIELDS = frozenset(
    n for n in FIELDS if isinstance(_DECLARED[n], (serializers.CharField, serializers.ChoiceField))
)
TEXT_SUFFIX = "_text"  # key of a column's wire text in a row of :func:`wire_values`


def decimal_text_sql(column: str) -> str:
    """SQL writing a positive decimal ``column`` as :func:`format_decimal` does (PostgreSQL)."""
    return f"trim_scale({column})::text"


def timestamp_text_sql(column: str) -> str:
    """SQL writing a timestamp ``column`` as :func:`format_timestamp` does (PostgreSQL)."""
    return POSTGRES_TIMESTAMP_SQL.format(column=column)


class _Text(Func):
    output_field = TextField()
    to_sql: Callable[[str], str]

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError("wire text is for plain columns")
        return self.to_sql(column), []


class DecimalText(_Text):
    to_sql = staticmethod(decimal_text_sql)


class TimestampText(_Text):
    to_sql = staticmethod(timestamp_text_sql)


def wire_values(queryset: QuerySet) -> QuerySet:
    """``queryset`` as dicts for :func:`trade_row`, formatted by PostgreSQL where it can.

    A formatted column comes under ``<field>_text`` instead of ``<field>``.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.values(*FIELDS)
    texts = {f"{name}{TEXT_SUFFIX}": DecimalText(name) for name in DECIMAL_FIELDS}
    texts.update({f"{name}{TEXT_SUFFIX}": TimestampText(name) for name in TIMESTAMP_FIELDS})
    plain = [name for name in FIELDS if name not in DECIMAL_FIELDS + TIMESTAMP_FIELDS]
    return queryset.values(*plain, **texts)


def _wire_columns(column_of: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """``(field, sql, key)`` for each field, in order: the column, or its wire text under
    ``<field>_text`` (PostgreSQL)."""
    columns = []
    for name in FIELDS:
        column = column_of(name)
        if name in DECIMAL_FIELDS:
            columns.append((name, decimal_text_sql(column), name + TEXT_SUFFIX))
        elif name in TIMESTAMP_FIELDS:
            columns.append((name, timestamp_text_sql(column), name + TEXT_SUFFIX))
        else:
            columns.append((name, column, name))
    return columns


def wire_select_sql(column_of: Callable[[str], str]) -> tuple[str, tuple[str, ...]]:
    """The select list of :func:`wire_values` as SQL for PostgreSQL, and the row keys it gives.

    ``column_of`` gives the quoted column of a field name.
    """
    columns = _wire_columns(column_of)
    return ", ".join(sql for _, sql, _ in columns), tuple(key for _, _, key in columns)


def wire_json_sql(column_of: Callable[[str], str], quote: Callable[[str], str]) -> str:
    """A select list naming each field after itself, its value in wire form: the row that
    PostgreSQL's ``row_to_json`` writes as :func:`trade_row` represents it, compact, the
    fields in order. ``quote`` quotes a name."""
    return ", ".join(f"{sql} AS {quote(name)}" for name, sql, _ in _wire_columns(column_of))


_FORMATTERS: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
    (
        name,
        format_decimal
        if name in DECIMAL_FIELDS
        else format_timestamp
        if name in TIMESTAMP_FIELDS
        else None,
    )
    for name in FIELDS
)
_TEXT_KEYS = tuple(
    (name, name + TEXT_SUFFIX if name in DECIMAL_FIELDS + TIMESTAMP_FIELDS else name)
    for name in FIELDS
)


def trade_row(row: Any) -> dict[str, Any]:
    """Represent a ``Trade``, or a row of :func:`wire_values`, as ``TradeSerializer`` does
    (decimals as exact strings, timestamps by ``format_timestamp``), without its per-field
    machinery: the list, CSV and page paths render thousands of rows."""
    if isinstance(row, dict):
        if DECIMAL_FIELDS and DECIMAL_FIELDS[0] + TEXT_SUFFIX in row:
            return {name: row[key] for name, key in _TEXT_KEYS}
        get = row.__getitem__
    else:

        def get(name):
            return getattr(row, name)

    return {
        name: get(name) if formatter is None else formatter(get(name))
        for name, formatter in _FORMATTERS
    }
