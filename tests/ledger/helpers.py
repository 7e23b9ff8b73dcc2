from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ledger.models import Trade


def add_trade(owner, ticker="AAPL", side="buy", price="100", quantity="1", timestamp=None, **kw):
    fields = dict(
        owner=owner,
        ticker=ticker,
        side=side,
        price=Decimal(price),
        quantity=Decimal(quantity),
        **kw,
    )
    if timestamp is not None:
        fields["timestamp"] = (
            datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
            if isinstance(timestamp, str)
            else timestamp
        )
    return Trade.objects.create(**fields)
