"""Writes to the ledger. Each public function is one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from ledger.models import Trade
from tradepulse.trades import clean_trade

BULK_BATCH_SIZE = 2000


def trade_create(
    *, owner, data: Mapping[str, Any], source: str = Trade.Source.API, source_ref: str = ""
) -> Trade:
    """Validate ``data`` and store one trade. Raises ``TradeFieldErrors`` on bad input."""
    fields = clean_trade(data)
    fields.setdefault("timestamp", timezone.now())
    with transaction.atomic():
        return Trade.objects.create(owner=owner, source=source, source_ref=source_ref, **fields)


def trade_update(*, trade: Trade, data: Mapping[str, Any], partial: bool) -> Trade:
    """Validate and apply changes; a full update without ``timestamp`` keeps the stored one."""
    fields = clean_trade(data, partial=partial)
    for name, value in fields.items():
        setattr(trade, name, value)
    with transaction.atomic():
        trade.save(update_fields=[*fields, "updated_at"])
    return trade


def trade_delete(*, trade: Trade) -> None:
    with transaction.atomic():
        trade.delete()


def trades_store(
    *, owner, cleaned: Iterable[Mapping[str, Any]], source: str = Trade.Source.API
) -> list[int]:
    """Insert already-validated trades in one transaction (all or nothing); return their ids."""
    now = timezone.now()
    objs = [
        Trade(
            owner=owner,
            source=source,
            created_at=now,
            updated_at=now,
            timestamp=row.get("timestamp") or now,
            ticker=row["ticker"],
            side=row["side"],
            price=row["price"],
            quantity=row["quantity"],
        )
        for row in cleaned
    ]
    with transaction.atomic():
        created = Trade.objects.bulk_create(objs, batch_size=BULK_BATCH_SIZE)
    return [t.pk for t in created]
