"""Writes for the live app: storing alerts, replacing a user's alert rules."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import transaction

from live.models import Alert, AlertRule
from tradepulse.alerts import SpikeAlert

logger = logging.getLogger(__name__)


def alerts_store(alerts: Iterable[tuple[SpikeAlert, int | None]]) -> int:
    """Insert alerts raised by the feed, each with the user whose rule fired it (None = the
    global rule), in one statement. Returns how many were stored."""
    rows = [
        Alert(
            user_id=user_id,
            ticker=alert.ticker,
            direction=alert.direction,
            change_pct=alert.change_pct,
            reference_price=alert.reference_price,
            price=alert.price,
            window_seconds=alert.window_seconds,
            timestamp=alert.timestamp,
        )
        for alert, user_id in alerts
    ]
    if rows:
        Alert.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def alert_rules_replace(*, user, rules: Sequence[dict]) -> list[AlertRule]:
    """Replace all of ``user``'s rules with ``rules`` (already validated: ``ticker``,
    ``threshold_pct`` as Decimal, ``window_seconds`` as int), then tell the feed."""
    with transaction.atomic():
        AlertRule.objects.filter(user=user).delete()
        created = AlertRule.objects.bulk_create(
            [
                AlertRule(
                    user=user,
                    ticker=rule["ticker"],
                    threshold_pct=Decimal(rule["threshold_pct"]).quantize(Decimal("0.01")),
                    window_seconds=int(rule["window_seconds"]),
                )
                for rule in rules
            ]
        )
        transaction.on_commit(notify_rules_changed)
    return sorted(created, key=lambda rule: rule.ticker)


def notify_rules_changed() -> None:
    """Ask the feed to reload rules now. Best effort: the feed also reloads periodically,
    so a lost message (no feed running, a full channel) only delays the change."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from live.protocol import CONTROL_CHANNEL
    from live.runtime import ensure_started

    ensure_started()  # rules need the feed even while no browser watches
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.send)(CONTROL_CHANNEL, {"type": "feed.rules_changed"})
    except Exception:  # a notification must never fail the request that saved the rules
        logger.info("could not notify the feed of changed alert rules", exc_info=True)


def alert_rule_save(*, user, rule: dict, replaces: str | None = None) -> AlertRule:
    """Add a rule, or change the rule of ticker ``replaces``; ``rule`` is validated as in
    :func:`alert_rules_replace`. Raises :class:`AlertRuleExists` when another rule has the
    ticker already (one rule per ticker)."""
    with transaction.atomic():
        current = {r.ticker: r for r in AlertRule.objects.select_for_update().filter(user=user)}
        if rule["ticker"] in current and rule["ticker"] != replaces:
            raise AlertRuleExists(rule["ticker"])
        rules = [
            {
                "ticker": r.ticker,
                "threshold_pct": r.threshold_pct,
                "window_seconds": r.window_seconds,
            }
            for t, r in current.items()
            if t not in (replaces, rule["ticker"])
        ]
        saved = alert_rules_replace(user=user, rules=[*rules, rule])
    return next(r for r in saved if r.ticker == rule["ticker"])


def alert_rule_delete(*, user, ticker: str) -> bool:
    """Remove ``user``'s rule of ``ticker``; False when there was none."""
    with transaction.atomic():
        deleted, _ = AlertRule.objects.filter(user=user, ticker=ticker).delete()
        if deleted:
            transaction.on_commit(notify_rules_changed)
    return bool(deleted)


class AlertRuleExists(Exception):
    """A second rule for a ticker that has one (``ticker`` names it)."""

    def __init__(self, ticker: str):
        super().__init__(f"There is already a rule for {ticker}; change that one instead.")
        self.ticker = ticker
