"""Validation of trade input shared by the REST API, bulk insert, CSV import and paper trading.

One function, :func:`clean_trade`, turns untrusted field values into typed values or raises
:class:`TradeFieldErrors` naming every bad field. Money and quantities stay ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from tradepulse.analysis.schema import format_decimal
from tradepulse.symbols import InvalidTicker, normalize_ticker
from tradepulse.timeutil import InvalidTimestamp, parse_datetime_utc, utcnow

SIDES = ("buy", "sell")
DECIMAL_PLACES = 8
MAX_DIGITS = 20
# Bounds a real fill never reaches; anything above them is a typo or an attack.
MAX_PRICE = Decimal("1000000000000")  # 1e12 exclusive
MAX_QUANTITY = Decimal("1000000000000")
# Clocks drift: a trade stamped a few minutes ahead is accepted, further is refused.
FUTURE_TOLERANCE = timedelta(minutes=5)
MIN_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
_STEP = Decimal(1).scaleb(-DECIMAL_PLACES)
# Room for every digit below MAX_PRICE at DECIMAL_PLACES places, so quantize never fails.
_EXACT = Context(prec=MAX_DIGITS + 2)

__all__ = [
    "FIELDS",
    "REQUIRED",
    "TradeFieldErrors",
    "clean_trade",
    "format_decimal",
    "parse_decimal",
]

FIELDS = ("ticker", "side", "price", "quantity", "timestamp")
REQUIRED = ("ticker", "side", "price", "quantity")


class TradeFieldErrors(ValueError):
    """Bad trade input; ``errors`` maps each bad field name to its messages."""

    status_code = 400  # how an HTTP API answers it (read by ``api.errors``)

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors

    def as_body(self) -> dict[str, list[str]]:
        return self.errors


def parse_decimal(value: Any, field: str, *, maximum: Decimal) -> Decimal:
    """Parse a positive decimal from a JSON number, a ``Decimal`` or a string."""
    if isinstance(value, bool) or value is None:
        raise ValueError("A number is required.")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 0.1 stays 0.1.
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("A valid number is required.") from None
    else:
        raise ValueError("A number is required.")
    if not number.is_finite():
        raise ValueError("A finite number is required.")
    # Checked on the number as written, before anything rounds it: 1e-999999999999 or
    # 0.999999999999999999999 must be refused, not become 0 or 1.
    if number <= 0:
        raise ValueError(f"{field.capitalize()} must be greater than 0.")
    if number >= maximum:
        raise ValueError(f"{field.capitalize()} must be less than {maximum:,}.")
    exact = number.quantize(_STEP, context=_EXACT)
    if exact != number:
        raise ValueError(f"{field.capitalize()} may have at most {DECIMAL_PLACES} decimal places.")
    return exact


def clean_trade(
    data: Mapping[str, Any], *, partial: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Validate trade fields; return only the fields present (all required unless ``partial``).

    ``timestamp`` may be absent or null: the caller stamps the trade with the current time.
    Raises :class:`TradeFieldErrors` with a message per bad field.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise TradeFieldErrors({"non_field_errors": ["Expected a JSON object with trade fields."]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if not partial:
        for name in REQUIRED:
            if name not in data or data[name] is None or data[name] == "":
                errors[name] = ["This field is required."]
    if "ticker" in data and "ticker" not in errors:
        try:
            cleaned["ticker"] = normalize_ticker(data["ticker"])
        except InvalidTicker as exc:
            errors["ticker"] = [str(exc)]
    if "side" in data and "side" not in errors:
        side = data["side"]
        if isinstance(side, str) and side.strip().lower() in SIDES:
            cleaned["side"] = side.strip().lower()
        else:
            errors["side"] = [f"'{side}' is not a valid side; use 'buy' or 'sell'."]
    for name, maximum in (("price", MAX_PRICE), ("quantity", MAX_QUANTITY)):
        if name in data and name not in errors:
            try:
                cleaned[name] = parse_decimal(data[name], name, maximum=maximum)
            except ValueError as exc:
                errors[name] = [str(exc)]
    if "timestamp" in data and data["timestamp"] not in (None, ""):
        try:
            ts = parse_datetime_utc(data["timestamp"])
        except InvalidTimestamp as exc:
            errors["timestamp"] = [str(exc)]
        else:
            current = now or utcnow()
            if ts > current + FUTURE_TOLERANCE:
                errors["timestamp"] = [
                    "Timestamp is in the future; trades may be stamped at most "
                    f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes ahead of now."
                ]
            elif ts < MIN_TIMESTAMP:
                errors["timestamp"] = ["Timestamp must be on or after 1970-01-01."]
            else:
                cleaned["timestamp"] = ts
    if errors:
        raise TradeFieldErrors(errors)
    return cleaned
