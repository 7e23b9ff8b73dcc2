"""Reads of the ledger. Every query is scoped to one owner."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet

from ledger.models import Trade
from ledger.representation import wire_json_sql, wire_values


def trade_queryset(*, owner) -> QuerySet[Trade]:
    return Trade.objects.filter(owner=owner)


def trade_rows(queryset: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream rows newest first without building model objects."""
    return wire_values(queryset.order_by("-timestamp", "-id")).iterator(chunk_size)


# The lookups a trade list filters on (``TradeFilter.lookups``), as SQL on the table ``t``.
_CONDITIONS = {
    "ticker": 't."ticker" = %s',
    "side": 't."side" = %s',
    "timestamp__gte": 't."timestamp" >= %s',
    "timestamp__lt": 't."timestamp" < %s',
    "timestamp__lte": 't."timestamp" <= %s',
}


def trade_page(
    *,
    owner,
    lookups: Mapping[str, Any],
    after: tuple[datetime, int] | None,
    reverse: bool,
    limit: int,
) -> list[str]:
    """Up to ``limit`` of ``owner``'s trades matching ``lookups``, each as its JSON text.

    Newest first, or oldest first when ``reverse``; strictly past the ``(timestamp, id)``
    position ``after``. PostgreSQL only: one precomposed statement, a range scan of the
    (owner, ticker, timestamp, id) or (owner, timestamp, id) index, without building the query
    through the ORM on every request; the database writes each row's JSON (``wire_json_sql``),
    so a page is neither parsed into Python values nor encoded again. The ORM path,
    ``KeysetPagination.paginate_queryset`` over ``wire_values``, gives the same trades on any
    database.
    """
    where = ['t."owner_id" = %s']
    params: list[Any] = [owner.pk]
    for lookup, value in lookups.items():
        where.append(_CONDITIONS[lookup])
        params.append(value)
    if after is not None:
        where.append(f'(t."timestamp", t."id") {">" if reverse else "<"} (%s, %s)')
        params.extend(after)
    order = "ASC" if reverse else "DESC"
    sql = (
        f"SELECT row_to_json(w)::text FROM {_table()} t "
        f"CROSS JOIN LATERAL (SELECT {_wire_json()}) w WHERE {' AND '.join(where)} "
        f'ORDER BY t."timestamp" {order}, t."id" {order} LIMIT %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return [row[0] for row in cursor.fetchall()]


def db_column(model: type[Model], name: str) -> str:
    """The database column of the concrete field ``name`` of ``model``."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise LookupError(f"{model.__name__}.{name} has no column")
    return field.column


@cache
def _table() -> str:
    return connection.ops.quote_name(Trade._meta.db_table)


@cache
def _wire_json() -> str:
    quote = connection.ops.quote_name
    return wire_json_sql(lambda name: "t." + quote(db_column(Trade, name)), quote)
