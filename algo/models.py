from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tradepulse.trades import DECIMAL_PLACES, MAX_DIGITS


class BacktestRun(models.Model):
    """One backtest of a moving-average crossover, its inputs and (once done) its results.

    ``params`` holds the strategy and money settings (fast, slow, kind, allow_short, cash,
    commission); ``data`` describes where the bars came from (``{"source": "synthetic", "bars":
    N, "seed": S}``, ``{"source": "csv", "name": ...}`` or ``{"source": "ticker", "ticker":
    ..., "period": ..., "interval": ...}``); ``stats`` maps every statistic name of the engine
    to a JSON value; ``trades`` lists the closed trades.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    #: Statuses of a run that still takes a worker's (or a request's) time.
    ACTIVE = (Status.QUEUED, Status.RUNNING)
    #: Statuses a run never leaves.
    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_runs"
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict)
    data = models.JSONField(default=dict)
    bars = models.PositiveIntegerField(default=0)
    stats = models.JSONField(null=True, blank=True)
    trades = models.JSONField(null=True, blank=True)
    open_trade = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The Celery task of a queued run (revoked on cancel) and how many times a worker took it
    # up (a worker that dies mid-run makes the broker deliver it again).
    task_id = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["owner", "-created_at", "-id"], name="backtest_owner_ts")]

    def __str__(self) -> str:
        return f"backtest {self.pk} ({self.status})"


class PaperSession(models.Model):
    """A paper-trading session: a strategy run on the live ticks of one ticker.

    ``runner`` says who drives it: ``feed`` (the live feed's tick sink, for sessions started
    through the API) or ``command`` (``manage.py paper_trade`` in the foreground). ``state`` is
    the trader's snapshot (:meth:`tradepulse.papertrading.PaperTrader.snapshot`), saved with every
    closed bar and every few seconds; together with the session's :class:`PaperBar` rows it
    restores the trader after a restart. ``cash`` is the starting cash; ``position``,
    ``last_price`` and ``equity`` mirror the state for cheap reads.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    class Runner(models.TextChoices):
        FEED = "feed", "Live feed"
        COMMAND = "command", "Command"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_sessions"
    )
    ticker = models.CharField(max_length=20)
    interval = models.CharField(max_length=8, default="1m")
    params = models.JSONField(default=dict)
    cash = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    runner = models.CharField(max_length=8, choices=Runner.choices, default=Runner.FEED)
    state = models.JSONField(null=True, blank=True)
    position = models.BigIntegerField(default=0)
    last_price = models.FloatField(null=True, blank=True)
    fills = models.PositiveIntegerField(default=0)
    # Why a failed session stopped (its trader could not be built or refused a tick).
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=["owner", "-started_at", "-id"], name="paper_owner_ts"),
            models.Index(fields=["status", "runner"], name="paper_status_runner"),
        ]

    def __str__(self) -> str:
        return f"paper session {self.pk} {self.ticker} ({self.status})"


class PaperBar(models.Model):
    """A closed bar of a paper session (the closes feed the strategy after a restart)."""

    session = models.ForeignKey(PaperSession, on_delete=models.CASCADE, related_name="bars")
    index = models.PositiveIntegerField()
    time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField(default=0.0)

    class Meta:
        ordering = ("session", "index")
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="paper_bar_unique_index")
        ]

    def __str__(self) -> str:
        return f"bar {self.index} of session {self.session_id}"
