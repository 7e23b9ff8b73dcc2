"""``/web/alerts/``: the alert history with filters, and the user's own rules."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from live.api.filters import AlertFilter
from live.api.serializers import AlertRuleSerializer
from live.models import Alert
from live.selectors import alert_queryset, alert_rules_of
from live.services import AlertRuleExists, alert_rule_delete, alert_rule_save
from tradepulse.alerts.detector import alert_text
from web.views.common import form_data, page_of, query_without_page

RULE_FIELDS = ("ticker", "threshold_pct", "window_seconds")


def _context(request, **extra):
    filters = AlertFilter(request.GET, queryset=alert_queryset(user=request.user))
    if filters.is_valid():
        alerts = filters.qs.order_by("-timestamp", "-id")
        filter_errors = {}
    else:
        alerts = Alert.objects.none()
        filter_errors = filters.errors
    page = page_of(alerts, request)
    context = {
        "page": page,
        "rows": [
            (a, alert_text(a.ticker, a.direction, a.change_pct, a.window_seconds))
            for a in page.object_list
        ],
        "filters": request.GET,
        "filter_errors": filter_errors,
        "query": query_without_page(request),
        "rules": alert_rules_of(user=request.user),
        "defaults": {
            "threshold_pct": settings.ALERT_THRESHOLD_PCT,
            "window_seconds": settings.ALERT_WINDOW_SECONDS,
        },
        "values": {},
        "errors": {},
        "rule_errors": {},
        "directions": Alert.Direction.values,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def alert_list(request):
    context = _context(request)
    if request.headers.get("HX-Target") == "alert-table":
        return render(request, "web/partials/alert_table.html", context)
    return render(request, "web/alerts.html", context)


def _save(request, replaces: str | None):
    data = form_data(request, RULE_FIELDS)
    if replaces is not None:
        data["ticker"] = replaces
    serializer = AlertRuleSerializer(data=data)
    errors = None
    if serializer.is_valid():
        try:
            rule = alert_rule_save(
                user=request.user, rule=serializer.validated_data, replaces=replaces
            )
        except AlertRuleExists as exc:
            errors = {"ticker": [str(exc)]}
        else:
            verb = "Saved" if replaces else "Added"
            messages.success(request, f"{verb} the rule for {rule.ticker}.")
            return redirect("web-alerts")
    else:
        errors = {k: [str(m) for m in v] for k, v in serializer.errors.items()}
    if replaces is None:
        context = _context(request, values=data, errors=errors)
    else:
        context = _context(request, rule_errors={replaces: errors}, rule_values={replaces: data})
    return render(request, "web/alerts.html", context, status=400)


@login_required
@require_POST
def rule_add(request):
    return _save(request, None)


@login_required
@require_POST
def rule_change(request, ticker: str):
    if not any(r.ticker == ticker for r in alert_rules_of(user=request.user)):
        raise Http404("No such rule.")
    return _save(request, ticker)


@login_required
@require_POST
def rule_remove(request, ticker: str):
    if not alert_rule_delete(user=request.user, ticker=ticker):
        raise Http404("No such rule.")
    messages.success(request, f"Removed the rule for {ticker}.")
    return redirect("web-alerts")
