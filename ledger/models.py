from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from ledger.fields import ExactDecimalField
from tradepulse.trades import DECIMAL_PLACES, MAX_DIGITS


class Trade(models.Model):
    """One fill in a user's ledger. Ticker is stored normalised (upper case)."""

    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Source(models.TextChoices):
        API = "api", "API"
        IMPORT = "import", "CSV import"
        PAPER = "paper", "Paper trading"
        ADMIN = "admin", "Admin"

    # No index of its own: the (owner, ...) indexes below lead with it, and a sixth index
    # would slow every insert.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trades", db_index=False
    )
    ticker = models.CharField(max_length=20)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = ExactDecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    quantity = ExactDecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    timestamp = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    # Identifies what produced the trade (e.g. "<paper session id>:<bar>"), so a producer that
    # retries after a reconnect cannot write the same fill twice.
    source_ref = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(
                fields=["owner", "ticker", "-timestamp", "-id"], name="trade_owner_ticker_ts"
            ),
            models.Index(fields=["owner", "-timestamp", "-id"], name="trade_owner_ts"),
            # Daily export selects one UTC day across all users.
            models.Index(fields=["timestamp", "id"], name="trade_ts"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="trade_price_positive"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="trade_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(side__in=["buy", "sell"]), name="trade_side_valid"
            ),
            models.UniqueConstraint(
                fields=["owner", "source", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="trade_unique_source_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.ticker} @ {self.price}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` and the response it got, kept for replay."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    response_status = models.PositiveSmallIntegerField(null=True)
    # The response's JSON as text: PostgreSQL's jsonb would reorder its keys, and a replay
    # must read as the first answer did. NULL until the response is stored (so the migration
    # to text can be undone: NULL is also what the JSON column held).
    response_body = models.TextField(null=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}:{self.key} ({self.state})"
