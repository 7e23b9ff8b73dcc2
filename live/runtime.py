"""The process's live runtime: its hub, its socket quota and, in the embedded mode, the feed.

Started lazily by the first WebSocket connection, once per event loop. ``FEED_IN_PROCESS``
(default: true with the in-memory channel layer) runs the feed as a supervised task of the
same loop (restarted, and the crash logged, if it ever fails); otherwise
``python manage.py run_feed`` runs it elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tradepulse.timeutil import format_timestamp

from .factories import (
    feed_from_settings,
    hub_from_settings,
    redis_client,
    socket_quota_from_settings,
)
from .feed import FeedRunner
from .hub import LiveHub
from .limits import SocketQuota
from .protocol import dumps
from .supervision import cancel_all, start_supervised

logger = logging.getLogger(__name__)

# Tests replace this to run a feed over a provider of their own.
feed_factory: Callable[[object], FeedRunner] = feed_from_settings


@dataclass
class Runtime:
    loop: asyncio.AbstractEventLoop
    ready: asyncio.Future
    hub: LiveHub | None = None
    quota: SocketQuota | None = None
    feed: FeedRunner | None = None
    feed_task: asyncio.Task | None = None
    stopping: bool = False
    tasks: list[asyncio.Task] = field(default_factory=list)


_runtime: Runtime | None = None


def current() -> Runtime | None:
    return _runtime


async def get_hub() -> LiveHub:
    """This process's hub, started (with the in-process feed if configured) on first use."""
    global _runtime
    loop = asyncio.get_running_loop()
    runtime = _runtime
    if runtime is None or runtime.loop is not loop:
        runtime = _runtime = Runtime(loop=loop, ready=loop.create_future())
        try:
            await _start(runtime)
        except BaseException as exc:
            _runtime = None
            runtime.ready.set_exception(exc)
            runtime.ready.exception()  # mark retrieved: the caller gets it by raise
            raise
        runtime.ready.set_result(runtime.hub)
    return await asyncio.shield(runtime.ready)


def socket_quota() -> SocketQuota:
    """The running loop's socket quota (after :func:`get_hub`)."""
    assert _runtime is not None and _runtime.quota is not None
    return _runtime.quota


async def _start(runtime: Runtime) -> None:
    from channels.layers import get_channel_layer
    from django.conf import settings

    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("live prices need CHANNEL_LAYERS to be configured")
    runtime.hub = hub_from_settings(layer)
    runtime.quota = socket_quota_from_settings(redis_client() if settings.REDIS_URL else None)
    runtime.tasks.append(start_supervised("socket-quota", runtime.quota.renew_loop))
    if settings.FEED_IN_PROCESS:
        try:
            runtime.feed = feed_factory(layer)
        except Exception as exc:
            # A misconfigured provider (say, a missing replay file) must not break every
            # socket: clients connect, and the status tells them why no prices come.
            logger.exception("the live feed cannot start")
            runtime.hub.status_text = dumps(
                {
                    "type": "status",
                    "provider": settings.MARKET_DATA_PROVIDER,
                    "state": "stale",
                    "reason": f"the price feed cannot start: {exc}",
                    "timestamp": format_timestamp(datetime.now(UTC)),
                }
            )
        else:
            runtime.feed_task = start_supervised(
                "live-feed", lambda: _run_feed(runtime, layer), finished=lambda: runtime.stopping
            )
    await runtime.hub.start()


async def _run_feed(runtime: Runtime, layer) -> None:
    # A restart after a crash gets a runner (and provider) of its own.
    if runtime.feed is None or runtime.feed.started:
        runtime.feed = feed_factory(layer)
    await runtime.feed.run()


async def shutdown() -> None:
    """Stop the hub and the in-process feed of the running loop (tests, server exit)."""
    global _runtime
    runtime, _runtime = _runtime, None
    if runtime is None or runtime.loop is not asyncio.get_running_loop():
        return
    if runtime.hub is not None:
        await runtime.hub.stop()
    runtime.stopping = True
    if runtime.feed is not None:
        await runtime.feed.stop()
    if runtime.feed_task is not None:
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(runtime.feed_task, 5)
    await cancel_all(runtime.tasks)


def ensure_started() -> None:
    """Start this process's runtime (hub and in-process feed) if it is not running yet.

    Called when something needs ticks without a browser watching: a paper session started or
    an alert rule saved. With ``FEED_IN_PROCESS`` the feed then runs at once; otherwise a
    ``run_feed`` process serves it and this does nothing. Works from the server's event loop
    and from a sync view the ASGI server runs in a thread; elsewhere (a management command,
    a Celery task) there is no server loop to run on, and nothing happens.
    """
    from django.conf import settings

    if not settings.FEED_IN_PROCESS:
        return
    loop = _server_loop()
    if loop is None:
        return
    runtime = _runtime
    if runtime is not None and runtime.loop is loop:
        return

    def start() -> None:
        # A context of its own: the caller's holds asgiref's per-request executor, and the
        # feed's database calls must not go to an executor that ends with the request.
        task = loop.create_task(get_hub(), context=contextvars.Context())
        task.add_done_callback(_log_start_failure)

    loop.call_soon_threadsafe(start, context=contextvars.Context())


def _server_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    import os

    from asgiref.sync import SyncToAsync

    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _log_start_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("the live runtime did not start", exc_info=future.exception())
