"""``/web/backtests/``: run a backtest, list the runs, a run's page with its chart, sweeps."""

from __future__ import annotations

from django.contrib.auth import get_user
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from algo.api.inputs import BacktestInput
from algo.charts import backtest_chart
from algo.errors import FieldError, MarketDataUnavailable
from algo.models import BacktestRun
from algo.selectors import backtest_queryset
from algo.services import backtest_create
from algo.sweeps import backtest_sweep, sweep_bars_path
from tradepulse.backtest.indicators import MOVING_AVERAGES
from tradepulse.backtest.stats import DURATION_STATS, STAT_NAMES, SWEEP_METRICS
from web.views.common import form_data

STRATEGY_FIELDS = ("fast", "slow", "kind", "allow_short", "cash", "commission")
SOURCE_FIELDS = {
    "synthetic": ("synthetic", "seed", "freq"),
    "ticker": ("ticker", "period", "interval"),
    "file": (),
}
SWEEP_FIELDS = ("metric",)


def _source_data(request) -> tuple[str, dict]:
    """The form's fields for its chosen ``source`` (the others are left out, so the service
    sees exactly one source of bars, as an API client sends it)."""
    source = request.POST.get("source") or "synthetic"
    fields = SOURCE_FIELDS.get(source, ())
    data = form_data(request, STRATEGY_FIELDS + fields + SWEEP_FIELDS + ("sweep",))
    if "allow_short" in request.POST:
        data["allow_short"] = "true"
    return source, data


def _context(request, **extra):
    runs = backtest_queryset(owner=request.user).defer("trades", "open_trade")[:50]
    context = {
        "runs": runs,
        "kinds": sorted(MOVING_AVERAGES),
        "metrics": SWEEP_METRICS,
        "values": {
            "source": "synthetic",
            "synthetic": "500",
            "fast": "10",
            "slow": "20",
            "kind": "sma",
        },
        "sweep_values": {
            "source": "synthetic",
            "synthetic": "500",
            "fast": "5:20:5",
            "slow": "20:60:10",
            "metric": "sharpe_ratio",
            "kind": "sma",
        },
        "errors": {},
        "sweep_errors": {},
    }
    context.update(extra)
    return context


def _errors(exc: Exception) -> dict[str, list[str]]:
    if isinstance(exc, FieldError):
        return {exc.field: [exc.message]}
    return {"ticker": [str(exc)]}


@login_required
def backtest_list(request):
    if request.method != "POST":
        return render(request, "web/backtests.html", _context(request))
    source, data = _source_data(request)
    upload = request.FILES.get("file") if source == "file" else None
    csv_path = None
    key = data.pop("sweep", None)
    if key is not None:
        csv_path = sweep_bars_path(request.user, key)
        if csv_path is None:
            return render(
                request,
                "web/backtests.html",
                _context(request, errors={"file": ["That sweep's CSV is gone; upload it again."]}),
                status=400,
            )
    elif source == "file" and upload is None:
        errors = {"file": ["This field is required."]}
        return render(
            request,
            "web/backtests.html",
            _context(request, values={**data, "source": source}, errors=errors),
            status=400,
        )
    given = BacktestInput(
        data={**data, **({"file": upload} if upload is not None else {})},
        csv_name=csv_path.name if csv_path is not None else None,
    )
    if not given.is_valid():
        errors = {
            k: [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in given.errors.items()
        }
        return render(
            request,
            "web/backtests.html",
            _context(request, values={**data, "source": source}, errors=errors),
            status=400,
        )
    try:
        run = backtest_create(
            owner=get_user(request),  # the user itself, not the request's lazy proxy
            params=given.strategy_params(),
            source=given.bars_source(),
            upload=upload,
            csv_path=csv_path,
        )
    except (FieldError, MarketDataUnavailable) as exc:
        return render(
            request,
            "web/backtests.html",
            _context(request, values={**data, "source": source}, errors=_errors(exc)),
            status=400,
        )
    return redirect("web-backtest", pk=run.pk)


@login_required
def backtest_page(request, pk: int):
    run = get_object_or_404(backtest_queryset(owner=request.user), pk=pk)
    stats = []
    for name in STAT_NAMES:
        value = (run.stats or {}).get(name)
        stats.append((name, value, "duration" if name in DURATION_STATS else ""))
    chart = backtest_chart(run) if run.status == BacktestRun.Status.DONE else None
    return render(
        request,
        "web/backtest.html",
        {"run": run, "stats": stats, "chart": chart, "trades": run.trades or []},
    )


@login_required
@require_POST
def backtest_sweep_page(request):
    source, data = _source_data(request)
    upload = request.FILES.get("file") if source == "file" else None
    values = {**data, "source": source}
    if source == "file" and upload is None:
        errors = {"file": ["This field is required."]}
    else:
        try:
            result = backtest_sweep(owner=request.user, data=data, upload=upload)
        except (FieldError, MarketDataUnavailable) as exc:
            errors = _errors(exc)
        else:
            context = _context(request, sweep=result, sweep_values=values)
            if request.headers.get("HX-Request"):
                return render(request, "web/partials/sweep_result.html", context)
            return render(request, "web/backtests.html", context)
    context = _context(request, sweep_values=values, sweep_errors=errors)
    if request.headers.get("HX-Request"):
        response = render(request, "web/partials/sweep_form.html", context, status=400)
        response["HX-Retarget"] = "#sweep-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    return render(request, "web/backtests.html", context, status=400)
