"""Celery tasks of the scale-out mode (broker: ``REDIS_URL``; worker: ``celery -A config worker``)."""

from __future__ import annotations

from config.celery import app


@app.task(name="algo.run_backtest", ignore_result=True)
def run_backtest(run_id: int) -> str:
    """Run a queued backtest; returns its final status."""
    from algo.services import backtest_execute

    return backtest_execute(run_id=run_id).status
