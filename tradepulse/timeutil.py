"""Timestamps: every time in TradePulse is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


class InvalidTimestamp(ValueError):
    """Raised for a string that is not an ISO 8601 date or datetime."""


def parse_datetime_utc(value: object) -> datetime:
    """Parse an ISO 8601 datetime; a value without an offset is read as UTC.

    Accepts ``datetime`` objects too. The result is always aware and in UTC.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidTimestamp("Timestamp may not be blank.")
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidTimestamp(
                f"'{value}' is not an ISO 8601 datetime (e.g. 2025-01-20T14:30:00Z)."
            ) from None
    else:
        raise InvalidTimestamp("Timestamp must be an ISO 8601 string.")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-01:00 or 0001-01-01T00:00:00+01:00: not representable in UTC.
        raise InvalidTimestamp(
            f"'{value}' is outside the supported range (0001-01-01 to 9999-12-31 in UTC)."
        ) from None


def parse_date_or_datetime(value: str) -> tuple[datetime, bool]:
    """Parse ``YYYY-MM-DD`` or a full ISO datetime.

    Returns ``(instant, is_date)``: for a plain date the instant is midnight UTC of that day.
    """
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidTimestamp(
                f"'{value}' is not a date (YYYY-MM-DD) or an ISO 8601 datetime."
            ) from None
        return datetime.combine(day, time.min, tzinfo=UTC), True
    try:
        return parse_datetime_utc(text), False
    except InvalidTimestamp:
        raise InvalidTimestamp(
            f"'{value}' is not a date (YYYY-MM-DD) or an ISO 8601 datetime."
        ) from None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Half-open UTC interval ``[start, end)`` covering ``day``; index friendly."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def format_timestamp(value: datetime) -> str:
    """The one output form of every timestamp TradePulse sends or writes (REST, WebSocket, CSV,
    analysis JSON): RFC 3339 in UTC with ``Z`` and always six fraction digits,
    e.g. ``2025-01-20T14:30:00.000000Z``. A naive value is read as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


# :func:`format_timestamp` as PostgreSQL writes it, for SQL that formats rows itself (the trade
# list's page query, the export's COPY): ``{column}`` is a ``timestamptz`` column. Identical
# text for every instant from 0001-01-01 to 9999-12-31.
POSTGRES_TIMESTAMP_SQL = "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def utcnow() -> datetime:
    return datetime.now(UTC)
