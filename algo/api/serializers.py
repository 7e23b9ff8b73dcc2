"""Output shapes of the algo API: each serializer renders its resource and documents it
(input is validated by :mod:`algo.services`)."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from algo.models import BacktestRun, PaperSession
from algo.selectors import paper_session_figures
from api.serializers import DecimalStringField, ModelSerializer, TimestampField
from tradepulse.trades import format_decimal


def _money(value: float | None) -> str | None:
    """Figures computed in floats, shown as decimal strings with cent-and-beyond precision."""
    if value is None:
        return None
    return format_decimal(Decimal(f"{value:.8f}"))


class BacktestRunSummarySerializer(ModelSerializer):
    """A run in the list: what it ran on, its state and its headline figures."""

    url = serializers.SerializerMethodField()
    return_pct = serializers.SerializerMethodField()
    sharpe_ratio = serializers.SerializerMethodField()

    class Meta:
        model = BacktestRun
        fields = (
            "id",
            "url",
            "status",
            "params",
            "data",
            "bars",
            "created_at",
            "finished_at",
            "return_pct",
            "sharpe_ratio",
        )

    def get_url(self, run: BacktestRun) -> str:
        return _absolute(self.context, reverse("backtest-detail", args=[run.pk]))

    def get_return_pct(self, run: BacktestRun) -> float | None:
        return (run.stats or {}).get("return_pct")

    def get_sharpe_ratio(self, run: BacktestRun) -> float | None:
        return (run.stats or {}).get("sharpe_ratio")


# Inline, not a component: in OpenAPI 3.0 a null next to a referenced schema is ambiguous.
PLOTS_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "png": {"type": "string", "format": "uri"},
        "html": {"type": "string", "format": "uri"},
    },
    "required": ["png", "html"],
}


class BacktestRunSerializer(BacktestRunSummarySerializer):
    """One run: the summary plus statistics, trades and plot links (``plots`` is null until
    the run is done)."""

    plots = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta(BacktestRunSummarySerializer.Meta):
        fields = (
            *BacktestRunSummarySerializer.Meta.fields,
            "started_at",
            "error",
            "stats",
            "trades",
            "open_trade",
            "plots",
        )

    def get_error(self, run: BacktestRun) -> str | None:
        return run.error or None

    @extend_schema_field(PLOTS_SCHEMA)
    def get_plots(self, run: BacktestRun) -> dict | None:
        if run.status != BacktestRun.Status.DONE:
            return None
        return {
            "png": _absolute(self.context, reverse("backtest-plot-png", args=[run.pk])),
            "html": _absolute(self.context, reverse("backtest-plot-html", args=[run.pk])),
        }


class PaperSessionSerializer(ModelSerializer):
    """A paper-trading session with its figures at the last price (money as decimal strings)."""

    url = serializers.SerializerMethodField()
    bar = serializers.CharField(source="interval")
    initial_cash = DecimalStringField(source="cash")
    position = serializers.IntegerField(source="figures.position")
    entry_price = serializers.CharField(source="figures.entry_price", allow_null=True)
    last_price = serializers.CharField(source="figures.last_price", allow_null=True)
    last_tick_time = TimestampField(source="figures.last_tick_time", allow_null=True)
    cash = serializers.CharField(source="figures.cash")
    equity = serializers.CharField(source="figures.equity")
    pnl = serializers.CharField(source="figures.pnl")
    commissions = serializers.CharField(source="figures.commissions")
    bars = serializers.IntegerField(source="figures.bars")
    halted = serializers.BooleanField(source="figures.halted")
    error = serializers.SerializerMethodField()

    class Meta:
        model = PaperSession
        fields = (
            "id",
            "url",
            "ticker",
            "bar",
            "params",
            "quantity",
            "status",
            "runner",
            "started_at",
            "stopped_at",
            "initial_cash",
            "position",
            "entry_price",
            "last_price",
            "last_tick_time",
            "cash",
            "equity",
            "pnl",
            "commissions",
            "bars",
            "fills",
            "halted",
            "error",
        )

    def get_url(self, session: PaperSession) -> str:
        return _absolute(self.context, reverse("paper-session-detail", args=[session.pk]))

    def get_error(self, session: PaperSession) -> str | None:
        return session.error or None

    def to_representation(self, session: PaperSession):
        figures = paper_session_figures(session)
        for name in ("entry_price", "last_price", "cash", "equity", "pnl", "commissions"):
            figures[name] = _money(figures[name])
        session.figures = figures
        return super().to_representation(session)


def _absolute(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
