"""The Celery app of the scale-out mode: background backtests, the daily export and analysis
(``celery -A config worker``, ``celery -A config beat``).

Its broker is ``REDIS_URL`` (see ``CELERY_*`` and ``BACKTEST_*`` in settings); without Redis
nothing is queued and every backtest runs inside the request. Every task's outcome is counted
in ``tradepulse_celery_tasks_total{task, outcome}`` (prometheus-client; multiprocess mode when
``PROMETHEUS_MULTIPROC_DIR`` is set).
"""

from __future__ import annotations

import os

from celery import Celery, signals
from prometheus_client import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tradepulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["algo", "cloud"])

TASK_OUTCOMES = Counter(
    "tradepulse_celery_tasks",
    "Celery tasks that ended, by task name and outcome "
    "(success, failure, retry, revoked, rejected).",
    ["task", "outcome"],
)


def _name(sender=None, request=None, **_) -> str:
    name = getattr(sender, "name", None) or getattr(request, "task", None)
    return str(name or "unknown")


@signals.task_success.connect
def _count_success(sender=None, **kwargs):
    TASK_OUTCOMES.labels(_name(sender), "success").inc()


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs):
    TASK_OUTCOMES.labels(_name(sender), "failure").inc()


@signals.task_retry.connect
def _count_retry(sender=None, request=None, **kwargs):
    TASK_OUTCOMES.labels(_name(sender, request), "retry").inc()


@signals.task_revoked.connect
def _count_revoked(sender=None, request=None, **kwargs):
    TASK_OUTCOMES.labels(_name(sender, request), "revoked").inc()


@signals.task_rejected.connect
def _count_rejected(message=None, **kwargs):
    name = (getattr(message, "headers", None) or {}).get("task", "unknown")
    TASK_OUTCOMES.labels(str(name), "rejected").inc()
