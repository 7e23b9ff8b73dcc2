"""Background loops of the live services: started supervised, stopped together.

A loop of the feed or the hub is meant to run until it is cancelled. ``supervised`` runs one
and, if it raises or returns, logs that (with the traceback) and starts it again after a
short backoff, so no loop ever dies silently; each restart is counted in
``tradepulse_live_loop_restarts_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tradepulse.market import Backoff

from . import metrics

logger = logging.getLogger(__name__)


async def supervised(
    name: str,
    loop: Callable[[], Awaitable[Any]],
    *,
    initial_delay: float = 0.5,
    max_delay: float = 5.0,
    finished: Callable[[], bool] | None = None,
) -> None:
    """Run ``loop()`` until cancelled, restarting it (logged) whenever it raises or returns;
    a return when ``finished()`` is true (a requested stop) ends the supervision."""
    backoff = Backoff(initial=initial_delay, maximum=max_delay, jitter=0.0)
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live: loop %s crashed; restarting it", name)
        else:
            if finished is not None and finished():
                return
            logger.error("live: loop %s returned; restarting it", name)
        metrics.LOOP_RESTARTS.labels(loop=name).inc()
        await asyncio.sleep(backoff.next())


def start_supervised(name: str, loop: Callable[[], Awaitable[Any]], **options: Any) -> asyncio.Task:
    """A task running :func:`supervised` for ``loop``, named ``name``."""
    return asyncio.create_task(supervised(name, loop, **options), name=name)


async def cancel_all(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel ``tasks`` and wait until each has finished, whatever it ended with."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
