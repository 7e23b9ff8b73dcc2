"""``/``: the dashboard when signed in, the login page when not."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth.views import LoginView
from django.shortcuts import render

from algo.models import PaperSession
from algo.selectors import (
    backtest_queryset,
    paper_session_figures,
    paper_session_queryset,
    positions_list,
    positions_totals,
)
from ledger.selectors import trade_queryset
from live.selectors import alert_queryset


def home(request):
    if not request.user.is_authenticated:
        return LoginView.as_view(template_name="web/login.html")(request)
    user = request.user
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    positions = positions_list(owner=user)
    sessions = paper_session_queryset(owner=user).filter(status=PaperSession.Status.RUNNING)
    return render(
        request,
        "web/dashboard.html",
        {
            "positions": positions,
            "totals": positions_totals(positions),
            "trades_today": trade_queryset(owner=user)
            .filter(timestamp__gte=today)
            .order_by("-timestamp", "-id")[:20],
            "alerts": alert_queryset(user=user).order_by("-timestamp", "-id")[:8],
            "sessions": [(s, paper_session_figures(s)) for s in sessions[:10]],
            "backtests": backtest_queryset(owner=user).defer("trades", "open_trade")[:5],
            "live_tickers": sorted({p["ticker"] for p in positions}),
        },
    )
