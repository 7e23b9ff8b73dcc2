"""Output shapes of the algo API (input is validated by :mod:`algo.services`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from algo.models import BacktestRun, PaperSession
from algo.selectors import paper_session_figures
from tradepulse.trades import format_decimal


def _money(value: float | None) -> str | None:
    """Figures computed in floats, shown as decimal strings with cent-and-beyond precision."""
    if value is None:
        return None
    return format_decimal(Decimal(f"{value:.8f}"))


def backtest_summary(run: BacktestRun, request) -> dict[str, Any]:
    url = request.build_absolute_uri(reverse("backtest-detail", args=[run.pk]))
    return {
        "id": run.pk,
        "url": url,
        "status": run.status,
        "params": run.params,
        "data": run.data,
        "bars": run.bars,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "return_pct": (run.stats or {}).get("return_pct"),
        "sharpe_ratio": (run.stats or {}).get("sharpe_ratio"),
    }


def backtest_detail(run: BacktestRun, request) -> dict[str, Any]:
    data = backtest_summary(run, request)
    done = run.status == BacktestRun.Status.DONE
    data.update(
        {
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "error": run.error or None,
            "stats": run.stats,
            "trades": run.trades,
            "open_trade": run.open_trade,
            "plots": {
                "png": request.build_absolute_uri(reverse("backtest-plot-png", args=[run.pk])),
                "html": request.build_absolute_uri(reverse("backtest-plot-html", args=[run.pk])),
            }
            if done
            else None,
        }
    )
    return data


def paper_session_data(session: PaperSession, request) -> dict[str, Any]:
    figures = paper_session_figures(session)
    return {
        "id": session.pk,
        "url": request.build_absolute_uri(reverse("paper-session-detail", args=[session.pk])),
        "ticker": session.ticker,
        "bar": session.interval,
        "params": session.params,
        "quantity": session.quantity,
        "status": session.status,
        "runner": session.runner,
        "started_at": session.started_at.isoformat(),
        "stopped_at": session.stopped_at.isoformat() if session.stopped_at else None,
        "initial_cash": format_decimal(session.cash),
        "position": figures["position"],
        "entry_price": _money(figures["entry_price"]),
        "last_price": _money(figures["last_price"]),
        "last_tick_time": figures["last_tick_time"],
        "cash": _money(figures["cash"]),
        "equity": _money(figures["equity"]),
        "pnl": _money(figures["pnl"]),
        "commissions": _money(figures["commissions"]),
        "bars": figures["bars"],
        "fills": session.fills,
        "halted": figures["halted"],
        "error": session.error or None,
    }


class BacktestRunSchema(serializers.ModelSerializer):
    """The shape of a run in the API schema (responses are built by :func:`backtest_detail`)."""

    url = serializers.URLField()
    plots = serializers.DictField(child=serializers.URLField(), allow_null=True)

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
            "started_at",
            "finished_at",
            "error",
            "stats",
            "trades",
            "open_trade",
            "plots",
        )


class PaperSessionSchema(serializers.ModelSerializer):
    """The shape of a session in the API schema (built by :func:`paper_session_data`)."""

    url = serializers.URLField()
    bar = serializers.CharField()
    initial_cash = serializers.DecimalField(max_digits=20, decimal_places=8)
    entry_price = serializers.CharField(allow_null=True)
    last_tick_time = serializers.DateTimeField(allow_null=True)
    equity = serializers.CharField()
    pnl = serializers.CharField()
    commissions = serializers.CharField()
    halted = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    cash = serializers.CharField()
    bars = serializers.IntegerField()

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
