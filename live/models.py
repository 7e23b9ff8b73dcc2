from __future__ import annotations

from django.conf import settings
from django.db import models


class Alert(models.Model):
    """A spike or drop raised by the live feed.

    ``user`` is null for an alert of the global rule (``ALERT_THRESHOLD_PCT`` /
    ``ALERT_WINDOW_SECONDS``), visible to everyone; otherwise the alert was raised by that
    user's own :class:`AlertRule` and only that user sees it. Prices are floats: they are live
    tick prices, not ledger amounts.
    """

    class Direction(models.TextChoices):
        UP = "up", "Up"
        DOWN = "down", "Down"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="live_alerts",
    )
    ticker = models.CharField(max_length=20)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    change_pct = models.FloatField(help_text="Signed percent move from reference_price.")
    reference_price = models.FloatField(help_text="The window's low (rise) or high (drop).")
    price = models.FloatField(help_text="The price of the tick that raised the alert.")
    window_seconds = models.FloatField()
    timestamp = models.DateTimeField(help_text="Event time of the alerting tick (UTC).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="alert_ts"),
            models.Index(fields=["ticker", "-timestamp", "-id"], name="alert_ticker_ts"),
            models.Index(fields=["user", "-timestamp", "-id"], name="alert_user_ts"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(direction__in=["up", "down"]), name="alert_direction_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticker} {self.direction} {self.change_pct:+.2f}% at {self.timestamp}"


class AlertRule(models.Model):
    """A user's own threshold and window for one ticker (alerts go to that user only)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules"
    )
    ticker = models.CharField(max_length=20)
    threshold_pct = models.DecimalField(max_digits=5, decimal_places=2)
    window_seconds = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("ticker",)
        constraints = [
            models.UniqueConstraint(fields=["user", "ticker"], name="alertrule_unique_ticker"),
            models.CheckConstraint(
                condition=models.Q(threshold_pct__gt=0, threshold_pct__lte=50),
                name="alertrule_threshold_range",
            ),
            models.CheckConstraint(
                condition=models.Q(window_seconds__gte=5, window_seconds__lte=3600),
                name="alertrule_window_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.ticker} {self.threshold_pct}% / {self.window_seconds}s"
