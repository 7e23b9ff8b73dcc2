"""Reads of the ledger. Every query is scoped to one owner."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet

from ledger.models import Trade
from ledger.representation import wire_select_sql, wire_values


def trade_queryset(*, owner) -> QuerySet[Trade]:
    return Trade.objects.filter(owner=owner)


def trade_rows(queryset: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream rows newest first without building model objects."""
    return wire_values(queryset.order_by("-timestamp", "-id")).iterator(chunk_size)


# The lookups a trade list filters on (``TradeFilter.lookups``), as SQL.
_CONDITIONS = {
    "ticker": '"ticker" = %s',
    "side": '"side" = %s',
    "timestamp__gte": '"timestamp" >= %s',
    "timestamp__lt": '"timestamp" < %s',
    "timestamp__lte": '"timestamp" <= %s',
}


def trade_page(
    *,
    owner,
    lookups: Mapping[str, Any],
    after: tuple[datetime, int] | None,
    reverse: bool,
    limit: int,
) -> list[dict]:
    """Up to ``limit`` of ``owner``'s trades matching ``lookups``, as rows of ``wire_values``.

    Newest first, or oldest first when ``reverse``; strictly past the ``(timestamp, id)``
    position ``after``. PostgreSQL only: one precomposed statement, a range scan of the
    (owner, ticker, timestamp, id) or (owner, timestamp, id) index, without building the query
    through the ORM on every request (the ORM path, ``KeysetPagination.paginate_queryset`` over
    ``wire_values``, gives the same rows on any database).
    """
    where = ['"owner_id" = %s']
    params: list[Any] = [owner.pk]
    for lookup, value in lookups.items():
        where.append(_CONDITIONS[lookup])
        params.append(value)
    if after is not None:
        where.append(f'("timestamp", "id") {">" if reverse else "<"} (%s, %s)')
        params.extend(after)
    order = "ASC" if reverse else "DESC"
    select, keys = _wire_select()
    sql = (
        f"SELECT {select} FROM {Trade._meta.db_table} WHERE {' AND '.join(where)} "
        f'ORDER BY "timestamp" {order}, "id" {order} LIMIT %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def db_column(model: type[Model], name: str) -> str:
    """The database column of the concrete field ``name`` of ``model``."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise LookupError(f"{model.__name__}.{name} has no column")
    return field.column


@cache
def _wire_select() -> tuple[str, tuple[str, ...]]:
    return wire_select_sql(lambda name: connection.ops.quote_name(db_column(Trade, name)))
