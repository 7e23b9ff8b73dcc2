"""Celery tasks of the algo app (broker: ``REDIS_URL``; ``celery -A config worker``)."""

from __future__ import annotations

from django.conf import settings

from config.celery import app


@app.task(
    name="algo.run_backtest",
    ignore_result=True,
    # Acknowledged only once the run ended: a worker that dies mid-run leaves the task to be
    # delivered again after the broker's visibility timeout (BACKTEST_VISIBILITY_TIMEOUT).
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.BACKTEST_TIME_LIMIT,
    time_limit=settings.BACKTEST_TIME_LIMIT + 5,
)
def run_backtest(run_id: int) -> str:
    """Run a queued backtest; returns its final status."""
    from algo.services import backtest_execute

    run = backtest_execute(run_id=run_id)
    return run.status if run is not None else "gone"


@app.task(name="algo.reap_backtests", ignore_result=True)
def reap_backtests() -> int:
    """Fail runs whose worker died and that the broker did not deliver again, and queued runs
    whose task the broker lost (on beat)."""
    from algo.services import backtest_reap

    return backtest_reap()
