"""Celery tasks of the cloud app: the daily export and analysis on the worker.

Beat runs :func:`export_previous_day` at ``EXPORT_SCHEDULE`` (UTC); it chains the export of the
previous UTC day with that day's analysis through ``TRADE_ANALYSIS_BACKEND``.
``manage.py export_trades --enqueue`` and ``POST /api/exports/`` queue the same chain for any
day with :func:`enqueue_export`.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from celery import chain

from cloud.exceptions import AnalysisBackendError, ExportError
from config.celery import app

logger = logging.getLogger(__name__)


@app.task(
    name="cloud.export_day",
    ignore_result=True,
    autoretry_for=(ExportError,),
    retry_backoff=30,
    max_retries=3,
)
def export_day_task(day: str) -> dict:
    """Export the trades of the UTC day ``day`` (YYYY-MM-DD) to ``TRADES_EXPORT_URL``."""
    from cloud.destinations import configured_destination
    from cloud.services import export_day

    result = export_day(date.fromisoformat(day), configured_destination())
    logger.info("export of %s: %s rows, %s bytes to %s", day, result.rows, result.bytes, result.key)
    return {"day": day, "rows": result.rows, "bytes": result.bytes, "key": result.key}


@app.task(
    name="cloud.analyse_day",
    ignore_result=True,
    autoretry_for=(AnalysisBackendError,),
    retry_backoff=30,
    max_retries=3,
)
def analyse_day_task(day: str) -> dict:
    """Run the analysis of ``day`` through the configured backend; returns its outcome."""
    from cloud.analysis import configured_backend

    outcome = configured_backend().run(date.fromisoformat(day))
    log = logger.info if outcome.status_code == 200 else logger.warning
    log("analysis of %s: %s %s", day, outcome.status_code, outcome.message)
    return {"day": day, "statusCode": outcome.status_code, "message": outcome.message}


def export_chain(day: date, *, analyse: bool = True):
    """The export of ``day``, then (unless ``analyse`` is false) its analysis."""
    export = export_day_task.si(day.isoformat())
    return chain(export, analyse_day_task.si(day.isoformat())) if analyse else export


def enqueue_export(day: date, *, analyse: bool = True) -> str:
    """Queue the export (and analysis) of ``day`` for the worker; returns the task id.

    Raises whatever the broker raises when it cannot take the task (kombu's
    ``OperationalError`` when it is down).
    """
    return export_chain(day, analyse=analyse).apply_async().id


def previous_utc_day(today: date | None = None) -> date:
    from django.utils import timezone

    return (today or timezone.now().date()) - timedelta(days=1)


@app.task(name="cloud.export_previous_day", ignore_result=True)
def export_previous_day() -> str:
    """What beat runs daily: the export of yesterday (UTC), then its analysis."""
    day = previous_utc_day()
    export_chain(day).delay()
    return day.isoformat()
