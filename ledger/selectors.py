"""Reads of the ledger. Every query is scoped to one owner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from ledger.models import Trade


def trade_queryset(*, owner) -> QuerySet[Trade]:
    return Trade.objects.filter(owner=owner)


def trade_get(*, owner, trade_id: int) -> Trade:
    """Return the owner's trade; another user's trade is indistinguishable from a missing one."""
    return Trade.objects.get(owner=owner, pk=trade_id)


def trade_filter(
    queryset: QuerySet[Trade],
    *,
    ticker: str | None = None,
    side: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    end_inclusive: bool = True,
) -> QuerySet[Trade]:
    """Apply the list filters as plain comparisons on indexed columns.

    ``ticker`` must already be normalised (upper case): the column stores it that way, so an
    equality serves the index where ``iexact`` would not.
    """
    if ticker:
        queryset = queryset.filter(ticker=ticker)
    if side:
        queryset = queryset.filter(side=side)
    if start is not None:
        queryset = queryset.filter(timestamp__gte=start)
    if end is not None:
        queryset = queryset.filter(**{"timestamp__lte" if end_inclusive else "timestamp__lt": end})
    return queryset


def trade_rows(queryset: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream rows newest first without building model objects."""
    from ledger.representation import VALUE_FIELDS

    return queryset.order_by("-timestamp", "-id").values(*VALUE_FIELDS).iterator(chunk_size)
