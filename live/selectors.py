"""Reads for the live app."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from live.models import Alert, AlertRule


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
