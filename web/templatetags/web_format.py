"""How the pages write numbers and times: decimals exactly (never ``350.25000000``), times in
UTC, figures from floats rounded for reading."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django import template

from tradepulse.trades import format_decimal

register = template.Library()


@register.filter
def dec(value) -> str:
    """A Decimal (or its string) without trailing zeros: ``350.25``."""
    if value is None or value == "":
        return "—"
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(number) if number else "0"


@register.filter
def fixed(value, places: int = 2) -> str:
    """A float figure with ``places`` decimals and thousands separators; — when missing."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "—"
    return f"{number:,.{int(places)}f}"


@register.filter
def signed(value) -> str:
    """``up`` or ``down`` (a CSS class) by the sign of a figure; empty when zero or missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "up" if number > 0 else "down" if number < 0 else ""


@register.filter
def utc(value) -> str:
    """``2025-01-20 14:30:00`` (UTC) from a datetime or an ISO 8601 string."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@register.filter
def duration(seconds) -> str:
    """Seconds as ``3d 4h`` / ``4h 10m`` / ``12m 5s``."""
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return "—"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


@register.filter
def get(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
