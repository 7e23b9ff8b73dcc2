"""The monitor page: plain HTML and JavaScript talking to ws/stocks/<ticker>/."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.views.generic import RedirectView


@login_required
def monitor(request):
    tickers = [t for t in request.GET.get("tickers", "").split(",") if t.strip()]
    return render(
        request,
        "live/monitor.html",
        {
            "initial_tickers": tickers[: settings.LIVE_WS_MAX_TICKERS],
            "threshold_pct": settings.ALERT_THRESHOLD_PCT,
            "window_seconds": settings.ALERT_WINDOW_SECONDS,
            "average_seconds": settings.MOVING_AVERAGE_SECONDS,
            "provider": settings.MARKET_DATA_PROVIDER,
        },
    )


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="web-home", permanent=False)),
    path("monitor/", monitor, name="live-monitor"),
]
