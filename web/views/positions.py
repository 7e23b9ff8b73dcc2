"""``/web/positions/``: per ticker quantity, cost, P&L; last prices live over the WebSocket."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from algo.selectors import positions_list, positions_totals


@login_required
@require_GET
def position_list(request):
    rows = positions_list(owner=request.user, include_closed=True)
    context = {
        "positions": rows,
        "totals": positions_totals(rows),
        "live_tickers": sorted({r["ticker"] for r in rows if r["quantity"] != "0"}),
    }
    if request.headers.get("HX-Target") == "positions-table":
        return render(request, "web/partials/positions_table.html", context)
    return render(request, "web/positions.html", context)
