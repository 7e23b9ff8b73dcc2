"""Reads for the live app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from live.models import Alert, AlertRule

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserRule:
    """One user's rule as the feed uses it: threshold as a fraction (0.02 = 2 %)."""

    user_id: int
    ticker: str
    threshold: float
    window: float


def alert_queryset(*, user) -> QuerySet[Alert]:
    """Alerts ``user`` may see: every global alert plus the ones of their own rules."""
    if user is None or not user.is_authenticated:
        return Alert.objects.none()
    return Alert.objects.filter(Q(user__isnull=True) | Q(user=user))


def last_price(ticker: str) -> float | None:
    """The latest price the live feed published for ``ticker`` (any ticker it streams: one a
    socket, a paper session or a user's rule watches), or None. Read from the price board of
    the mode in use: process memory with the in-process feed, Redis with ``run_feed``."""
    from django.conf import settings

    from live.prices import local_price, redis_price

    if settings.FEED_IN_PROCESS or not settings.REDIS_URL:
        return local_price(ticker)
    from live.factories import redis_sync_client

    try:
        return redis_price(redis_sync_client(), ticker)
    except Exception:  # no live price while Redis is away; callers fall back
        logger.warning("live: no last price for %s (Redis unavailable)", ticker, exc_info=True)
        return None


def alert_rules_of(*, user) -> list[AlertRule]:
    return list(AlertRule.objects.filter(user=user).order_by("ticker"))


def alert_rules_all() -> list[UserRule]:
    """Every user's rule, for the feed runner (one small query, run off the tick path)."""
    rows = AlertRule.objects.filter(user__is_active=True).values_list(
        "user_id", "ticker", "threshold_pct", "window_seconds"
    )
    return [
        UserRule(user_id=uid, ticker=ticker, threshold=float(pct) / 100.0, window=float(window))
        for uid, ticker, pct, window in rows
    ]
