"""``/web/paper/``: start paper-trading sessions, watch them live, stop them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from algo.api.inputs import PaperSessionInput
from algo.errors import FieldError
from algo.models import PaperSession
from algo.selectors import paper_session_figures, paper_session_fills, paper_session_queryset
from algo.services import paper_session_start, paper_session_stop
from tradepulse.backtest.indicators import MOVING_AVERAGES
from web.views.common import form_data

SESSION_FIELDS = (
    "ticker",
    "bar",
    "fast",
    "slow",
    "kind",
    "allow_short",
    "cash",
    "commission",
    "quantity",
)


def _sessions(request) -> dict:
    sessions = paper_session_queryset(owner=request.user)
    running = sessions.filter(status=PaperSession.Status.RUNNING)
    stopped = sessions.filter(status=PaperSession.Status.STOPPED)[:10]
    return {
        "running": [(s, paper_session_figures(s), paper_session_fills(s)) for s in running],
        "stopped": [(s, paper_session_figures(s)) for s in stopped],
    }


def _context(request, **extra):
    context = {
        "kinds": sorted(MOVING_AVERAGES),
        "values": {"bar": "1m", "fast": "10", "slow": "20", "cash": "10000", "kind": "sma"},
        "errors": {},
        **_sessions(request),
    }
    context["live_tickers"] = sorted({s.ticker for s, _, _ in context["running"]})
    context.update(extra)
    return context


@login_required
def paper_list(request):
    if request.method != "POST":
        return render(request, "web/paper.html", _context(request))
    data = form_data(request, SESSION_FIELDS)
    if "allow_short" in request.POST:
        data["allow_short"] = "true"
    given = PaperSessionInput(data=data)
    if not given.is_valid():
        errors = {
            k: [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in given.errors.items()
        }
        context = _context(request, values=data, errors=errors)
        return render(request, "web/paper.html", context, status=400)
    try:
        session = paper_session_start(
            owner=request.user, params=given.session_params(), runner=PaperSession.Runner.FEED
        )
    except FieldError as exc:
        context = _context(request, values=data, errors={exc.field: [exc.message]})
        return render(request, "web/paper.html", context, status=400)
    messages.success(request, f"Started session {session.pk} on {session.ticker}.")
    return redirect("web-paper")


@login_required
@require_GET
def paper_sessions_partial(request):
    return render(request, "web/partials/paper_sessions.html", _sessions(request))


@login_required
@require_POST
def paper_stop(request, pk: int):
    session = get_object_or_404(paper_session_queryset(owner=request.user), pk=pk)
    paper_session_stop(session=session)
    messages.success(request, f"Stopped session {session.pk} ({session.ticker}).")
    return redirect("web-paper")
