"""How a trade looks on the wire (JSON and CSV): one function, used by every read path.

Read paths that list many trades fetch them with :func:`wire_values`. On PostgreSQL the
database then writes the timestamps and decimals in their wire form, so a page of trades is
not parsed into ``datetime`` and ``Decimal`` objects only to be formatted back into text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import Func, QuerySet, TextField

from tradepulse.trades import format_decimal

FIELDS = (
    "id",
    "ticker",
    "side",
    "price",
    "quantity",
    "timestamp",
    "source",
    "created_at",
    "updated_at",
)
DECIMAL_FIELDS = ("price", "quantity")
TIMESTAMP_FIELDS = ("timestamp", "created_at", "updated_at")
TEXT_SUFFIX = "_text"  # key of a column's wire text in a row of :func:`wire_values`


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and microseconds when present."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def decimal_text_sql(column: str) -> str:
    """SQL writing a positive decimal ``column`` as :func:`format_decimal` does (PostgreSQL)."""
    return f"trim_scale({column})::text"


def timestamp_text_sql(column: str) -> str:
    """SQL writing a timestamp ``column`` as :func:`format_timestamp` does (PostgreSQL).

    ``to_char`` has no optional fraction, so the format is chosen per row: whole seconds
    without one, like ``datetime.isoformat``.
    """
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, CASE WHEN {utc} = date_trunc('second', {utc}) "
        """THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    )


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


def wire_select_sql(column_of: Callable[[str], str]) -> tuple[str, tuple[str, ...]]:
    """The select list of :func:`wire_values` as SQL for PostgreSQL, and the row keys it gives.

    ``column_of`` gives the quoted column of a field name.
    """
    columns, keys = [], []
    for name in FIELDS:
        column = column_of(name)
        if name in DECIMAL_FIELDS:
            columns.append(decimal_text_sql(column))
            keys.append(name + TEXT_SUFFIX)
        elif name in TIMESTAMP_FIELDS:
            columns.append(timestamp_text_sql(column))
            keys.append(name + TEXT_SUFFIX)
        else:
            columns.append(column)
            keys.append(name)
    return ", ".join(columns), tuple(keys)


def trade_row(row: Any) -> dict[str, Any]:
    """Represent a ``Trade``, or a row of :func:`wire_values`; decimals as exact strings."""
    if isinstance(row, dict):
        if "price" + TEXT_SUFFIX in row:
            return {
                "id": row["id"],
                "ticker": row["ticker"],
                "side": row["side"],
                "price": row["price_text"],
                "quantity": row["quantity_text"],
                "timestamp": row["timestamp_text"],
                "source": row["source"],
                "created_at": row["created_at_text"],
                "updated_at": row["updated_at_text"],
            }
        get = row.get
    else:

        def get(name):
            return getattr(row, name)

    return {
        "id": get("id"),
        "ticker": get("ticker"),
        "side": get("side"),
        "price": format_decimal(get("price")),
        "quantity": format_decimal(get("quantity")),
        "timestamp": format_timestamp(get("timestamp")),
        "source": get("source"),
        "created_at": format_timestamp(get("created_at")),
        "updated_at": format_timestamp(get("updated_at")),
    }
