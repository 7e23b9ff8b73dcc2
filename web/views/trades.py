"""``/web/trades/``: the ledger as a table; add, edit, delete, import and download."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from api.renderers import csv_download
from ledger.api.filters import TradeFilter
from ledger.csv_import import TradeImportError, trades_import_csv
from ledger.models import Trade
from ledger.representation import trade_row
from ledger.selectors import trade_queryset, trade_rows
from ledger.services import trade_create, trade_delete, trade_update
from tradepulse.trades import FIELDS, TradeFieldErrors
from web.views.common import form_data, page_of, query_without_page

#: The largest CSV the page imports (the command has no limit).
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _filters(request) -> TradeFilter:
    return TradeFilter(request.GET, queryset=trade_queryset(owner=request.user), request=request)


def _list_context(request, **extra):
    filters = _filters(request)
    if filters.is_valid():
        trades = filters.qs.order_by("-timestamp", "-id")
        filter_errors = {}
    else:
        trades = Trade.objects.none()
        filter_errors = filters.errors
    context = {
        "page": page_of(trades, request),
        "filters": request.GET,
        "filter_errors": filter_errors,
        "query": query_without_page(request),
        "values": {},
        "errors": {},
        "sides": Trade.Side.values,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def trade_list(request):
    context = _list_context(request)
    if request.headers.get("HX-Target") == "trade-table":
        return render(request, "web/partials/trade_table.html", context)
    return render(request, "web/trades.html", context)


@login_required
@require_POST
def trade_new(request):
    data = form_data(request, FIELDS)
    try:
        trade = trade_create(owner=request.user, data=data)
    except TradeFieldErrors as exc:
        context = _list_context(request, values=data, errors=exc.errors)
        return render(request, "web/trades.html", context, status=400)
    messages.success(request, f"Recorded trade {trade.pk}: {trade.side} {trade.ticker}.")
    return redirect("web-trades")


@login_required
def trade_edit(request, pk: int):
    trade = get_object_or_404(trade_queryset(owner=request.user), pk=pk)
    if request.method == "POST":
        data = form_data(request, FIELDS)
        try:
            trade_update(trade=trade, data=data, partial=False)
        except TradeFieldErrors as exc:
            return render(
                request,
                "web/trade_edit.html",
                {"trade": trade, "values": data, "errors": exc.errors, "sides": Trade.Side.values},
                status=400,
            )
        messages.success(request, f"Saved trade {trade.pk}.")
        return redirect("web-trades")
    row = trade_row(trade)
    return render(
        request,
        "web/trade_edit.html",
        {"trade": trade, "values": row, "errors": {}, "sides": Trade.Side.values},
    )


@login_required
@require_POST
def trade_remove(request, pk: int):
    trade = get_object_or_404(trade_queryset(owner=request.user), pk=pk)
    trade_delete(trade=trade)
    if request.headers.get("HX-Request"):
        return HttpResponse("")  # the row disappears
    messages.success(request, f"Deleted trade {pk}.")
    return redirect("web-trades")


@login_required
@require_POST
def trade_import(request):
    upload = request.FILES.get("file")
    problems: list[str] = []
    if upload is None:
        problems = ["file: This field is required."]
    elif upload.size > MAX_IMPORT_BYTES:
        problems = [f"file: larger than {MAX_IMPORT_BYTES:,} bytes"]
    else:
        try:
            text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
            stored = trades_import_csv(owner=request.user, lines=text)
        except TradeImportError as exc:
            problems = list(exc.lines)
            if exc.count:
                problems.insert(0, f"{exc.count} bad row(s), nothing imported:")
        except UnicodeDecodeError as exc:
            problems = [f"file: not UTF-8 text ({exc.reason}); nothing imported"]
        else:
            messages.success(request, f"Imported {stored} trades from {upload.name}.")
            return redirect("web-trades")
    context = _list_context(request, import_errors=problems)
    return render(request, "web/trades.html", context, status=400)


@login_required
@require_GET
def trade_export(request):
    filters = _filters(request)
    if not filters.is_valid():
        context = _list_context(request)
        return render(request, "web/trades.html", context, status=400)
    return csv_download(request, trade_rows(filters.qs), trade_row)
