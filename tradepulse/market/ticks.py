"""Price ticks, provider status events, and their JSON wire format."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tradepulse.symbols import InvalidTicker, normalize_ticker
from tradepulse.timeutil import InvalidTimestamp, parse_datetime_utc

__all__ = [
    "ProviderState",
    "ProviderStatus",
    "Tick",
    "TickFormatError",
    "parse_number",
    "parse_ticker",
    "parse_timestamp",
]


class TickFormatError(ValueError):
    """A tick (JSON message or CSV row) that cannot be read; the message names the field."""


def parse_ticker(value: object) -> str:
    """Read a tick's ticker by the one ticker rule (`tradepulse.symbols.normalize_ticker`), or
    raise TickFormatError naming the field."""
    if not isinstance(value, str):
        raise TickFormatError(f"ticker must be a string, got {type(value).__name__}")
    try:
        return normalize_ticker(value)
    except InvalidTicker:
        raise TickFormatError(f"ticker {value!r} is not a valid symbol") from None


def parse_timestamp(value: object) -> datetime:
    """Read an ISO 8601 timestamp (`tradepulse.timeutil.parse_datetime_utc`: one without an
    offset is UTC) or raise TickFormatError naming it. Returns aware UTC."""
    if not isinstance(value, datetime | str):
        raise TickFormatError(f"timestamp must be an ISO 8601 string, got {type(value).__name__}")
    try:
        return parse_datetime_utc(value)
    except InvalidTimestamp:
        raise TickFormatError(f"timestamp {value!r} is not ISO 8601") from None


def parse_number(field: str, value: object, *, positive: bool) -> float:
    """Read a price (``positive``) or volume as a finite float, or raise TickFormatError naming
    ``field``."""
    # bool is an int subclass; `true` is never a price.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TickFormatError(f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise TickFormatError(f"{field} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise TickFormatError(f"{field} {value!r} is not finite")
    if positive and number <= 0:
        raise TickFormatError(f"{field} {value!r} must be positive")
    if not positive and number < 0:
        raise TickFormatError(f"{field} {value!r} must not be negative")
    return number


@dataclass(frozen=True, slots=True)
class Tick:
    """One traded price of one ticker at one moment.

    Contract: `ticker` is upper-case, `price` is finite and positive, `timestamp` is the
    event time as an aware UTC datetime (a naive one is taken as UTC, any other offset is
    converted). `volume` is whatever volume the source reports with the tick, if any.
    Construction raises `TickFormatError` (a ValueError) when any of this does not hold.
    """

    ticker: str
    price: float
    timestamp: datetime
    volume: float | None = None

    def __post_init__(self) -> None:
        ticker = parse_ticker(self.ticker)
        price = parse_number("price", self.price, positive=True)
        timestamp = parse_timestamp(self.timestamp)
        volume = (
            None if self.volume is None else parse_number("volume", self.volume, positive=False)
        )
        # Frozen dataclass: normalised values are written once, here.
        object.__setattr__(self, "ticker", ticker)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "timestamp", timestamp)
        object.__setattr__(self, "volume", volume)

    @classmethod
    def from_parsed(
        cls, ticker: str, price: float, timestamp: datetime, volume: float | None = None
    ) -> Tick:
        """A tick of values already read by this module's rules (`parse_ticker`,
        `parse_timestamp`, a finite positive price, a finite non-negative volume or None):
        a reader that checked each field once does not pay for a second check."""
        tick = object.__new__(cls)
        object.__setattr__(tick, "ticker", ticker)
        object.__setattr__(tick, "price", price)
        object.__setattr__(tick, "timestamp", timestamp)
        object.__setattr__(tick, "volume", volume)
        return tick

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict: ticker, price, timestamp (ISO 8601, microseconds, +00:00)."""
        wire: dict[str, Any] = {
            "ticker": self.ticker,
            "price": self.price,
            "timestamp": self.timestamp.isoformat(timespec="microseconds"),
        }
        if self.volume is not None:
            wire["volume"] = self.volume
        return wire

    def to_json(self) -> str:
        return json.dumps(self.to_wire(), separators=(",", ":"))

    @classmethod
    def from_wire(cls, data: object) -> Tick:
        """Build a tick from a decoded JSON object; raises TickFormatError naming the field."""
        if not isinstance(data, dict):
            raise TickFormatError(f"a tick must be a JSON object, got {type(data).__name__}")
        for field in ("ticker", "price", "timestamp"):
            if field not in data:
                raise TickFormatError(f"tick has no {field!r} field")
        # Prices are numbers on the wire; a numeric string is refused so a mistyped feed
        # is noticed instead of silently accepted.
        if isinstance(data["price"], str):
            raise TickFormatError(f"price must be a number, got string {data['price']!r}")
        return cls(
            ticker=data["ticker"],
            price=data["price"],
            timestamp=parse_timestamp(data["timestamp"]),
            volume=data.get("volume"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Tick:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TickFormatError(f"not JSON: {exc}") from None
        return cls.from_wire(data)


class ProviderState(StrEnum):
    """Connection state a provider reports in its stream."""

    CONNECTED = "connected"  # receiving (or ready to produce) live data
    RECONNECTING = "reconnecting"  # the source failed; the provider is retrying
    STALE = "stale"  # connected or polling, but prices are delayed or missing


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """A change in a provider's health, delivered in the same stream as the ticks.

    `reason` is a short human-readable sentence (shown to users as is); `timestamp` is when
    the provider observed the change (aware UTC).
    """

    provider: str
    state: ProviderState
    reason: str
    timestamp: datetime

    def to_wire(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "state": str(self.state),
            "reason": self.reason,
            "timestamp": self.timestamp.isoformat(timespec="microseconds"),
        }
