"""How a trade looks on the wire (JSON and CSV): one function, used by every read path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
VALUE_FIELDS = FIELDS  # columns fetched with .values() for list pages


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and microseconds when present."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def trade_row(row: Any) -> dict[str, Any]:
    """Represent a ``Trade`` or a ``.values()`` dict of one; decimals as exact strings."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
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
