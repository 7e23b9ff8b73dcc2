"""HTTP request metrics and the ``/metrics`` endpoint (Prometheus text format).

Every process writes its metrics with prometheus-client; when ``PROMETHEUS_MULTIPROC_DIR`` is set
(``make run`` and ``make run-scaled`` set it and empty it at start) they go to files there and
``/metrics`` adds up those of every process: web workers, feeds, Celery. Apps declare their own
metrics in ``<app>/metrics.py``.

``/metrics`` is not public: with ``METRICS_TOKEN`` set it wants ``Authorization: Bearer
<token>``; without it, it answers clients on this machine only.
"""

from __future__ import annotations

import glob
import hmac
import os
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "tradepulse_http_requests_total",
    "HTTP requests answered, by view, method and status",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tradepulse_http_request_duration_seconds",
    "Time to the response (for a streamed response: to its first part), by view and method",
    ["view", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def view_label(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


def record(request, response, started: float) -> None:
    method = request.method if request.method in METHODS else "OTHER"
    view = view_label(request)
    HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
    HTTP_LATENCY.labels(view, method).observe(time.perf_counter() - started)


class RequestMetricsMiddleware:
    """Counts and times every request (outermost middleware); no thread hop under ASGI."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        record(request, response, started)
        return response

    async def __acall__(self, request):
        started = time.perf_counter()
        response = await self.get_response(request)
        record(request, response, started)
        return response


LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})


def allowed(request) -> bool:
    if settings.METRICS_TOKEN:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), settings.METRICS_TOKEN.encode()
        )
    return request.META.get("REMOTE_ADDR") in LOCAL_ADDRESSES


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: str) -> None:
    """Drop the "live" gauges of processes that are gone (a worker killed or replaced): no
    server hook tells us when a uvicorn worker dies, and every process writes to this folder
    on this machine, so a pid that no longer exists is a dead writer."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = os.path.basename(name).rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and not pid_alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), path)


def metrics_view(request):
    """All processes' metrics in the Prometheus text format."""
    if not allowed(request):
        detail = (
            "A valid 'Authorization: Bearer <METRICS_TOKEN>' header is required."
            if settings.METRICS_TOKEN
            else "Metrics are served to this machine only (set METRICS_TOKEN to allow others)."
        )
        return JsonResponse({"detail": detail}, status=403)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        forget_dead_processes(settings.PROMETHEUS_MULTIPROC_DIR)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
