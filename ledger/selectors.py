"""Reads of the ledger. Every query is scoped to one owner."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from ledger.models import Trade


def trade_queryset(*, owner) -> QuerySet[Trade]:
    return Trade.objects.filter(owner=owner)


def trade_rows(queryset: QuerySet[Trade], *, chunk_size: int = 2000) -> Iterator[dict]:
    """Stream rows newest first without building model objects."""
    from ledger.representation import VALUE_FIELDS

    return queryset.order_by("-timestamp", "-id").values(*VALUE_FIELDS).iterator(chunk_size)
