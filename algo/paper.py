"""Paper trading on live ticks: the feed's tick sink, shared by ``manage.py paper_trade``.

:class:`PaperSessionsSink` follows the live feed's sink contract (see :mod:`live.feed`). It
keeps one :class:`~tradepulse.papertrading.PaperTrader` per running session, feeds it the raw ticks of
the session's ticker inline (pure arithmetic, no I/O), and hands every closed bar and fill to a
writer task that persists them in order, off the feed loop, through
:func:`algo.services.paper_session_record`. Every ``PAPER_REFRESH_SECONDS`` it reloads the
running sessions (one indexed query), drops stopped ones, and saves the open bar and last price
of sessions that moved.

One session never stops the others: a session whose trader cannot be built (a row saved with
settings the engine refuses), that raises on a tick, or whose step the ledger refuses is marked
``failed`` with the reason, logged, and dropped; the other sessions keep trading. A database
outage is not a session's fault: its steps are logged and the next refresh carries on.

Restart and reconnect: a session's trader is rebuilt from its persisted bars and state, and
ticks older than the last one it accepted are ignored, so a feed that restarts or a provider
that replays old ticks never produces a fill twice; the ledger's unique
``(owner, source, source_ref)`` is the last guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.db import DatabaseError

from tradepulse.market import Tick
from tradepulse.papertrading import Fill, PaperTrader

logger = logging.getLogger(__name__)


@dataclass
class SessionRunner:
    """A loaded session: its trader and whether it has unsaved progress."""

    session_id: int
    ticker: str
    trader: PaperTrader
    dirty: bool = False
    on_fill: Callable[[int, Fill], None] | None = field(default=None, repr=False)


def _load_sessions(runner: str, session_id: int | None, known: set[int]) -> dict[int, Any]:
    """Running sessions of ``runner`` (ids), with traders built for the ones not yet known.

    A session whose trader cannot be built is marked failed and left out.
    """
    from algo.models import PaperSession
    from algo.services import paper_session_fail, paper_trader_for

    query = PaperSession.objects.filter(status=PaperSession.Status.RUNNING, runner=runner)
    if session_id is not None:
        query = query.filter(pk=session_id)
    loaded: dict[int, Any] = {pk: None for pk in query.values_list("pk", flat=True)}
    for pk in loaded.keys() - known:
        # One row at a time: a row that cannot even be read fails alone.
        try:
            session = PaperSession.objects.get(pk=pk)
            loaded[pk] = SessionRunner(pk, session.ticker, paper_trader_for(session))
        except DatabaseError:
            raise
        except Exception as exc:
            logger.exception("paper session %s cannot start", pk)
            paper_session_fail(session_id=pk, reason=f"cannot start: {_reason(exc)}")
            del loaded[pk]
    return loaded


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _fail(session_id: int, reason: str) -> None:
    from algo.services import paper_session_fail

    paper_session_fail(session_id=session_id, reason=reason)


def _record(job: tuple) -> bool:
    from algo.services import paper_session_record

    session_id, state, bars, fills = job
    return paper_session_record(session_id=session_id, state=state, bars=bars, fills=fills)


class PaperSessionsSink:
    """Runs the paper sessions of one runner kind on ticks pushed to :meth:`on_tick`.

    ``runner="feed"`` (the default, what ``FEED_TICK_SINKS`` builds) runs every running session
    started through the API; ``manage.py paper_trade`` builds one with ``runner="command"`` and
    its session's id, and pushes its own provider's ticks. ``on_fill(session_id, fill)`` is
    called for each fill (the command prints them).
    """

    def __init__(
        self,
        *,
        runner: str = "feed",
        session_id: int | None = None,
        refresh_seconds: float | None = None,
        on_fill: Callable[[int, Fill], None] | None = None,
    ) -> None:
        if refresh_seconds is None:
            from django.conf import settings

            refresh_seconds = settings.PAPER_REFRESH_SECONDS
        self.runner = runner
        self.session_id = session_id
        self.refresh_seconds = refresh_seconds
        self.on_fill = on_fill
        self.sessions: dict[int, SessionRunner] = {}
        self._by_ticker: dict[str, list[SessionRunner]] = {}
        self._queue: asyncio.Queue[tuple | None] = asyncio.Queue()
        self._writer: asyncio.Task | None = None
        self._refresher: asyncio.Task | None = None
        self.fills_made = 0

    # -- the sink contract ---------------------------------------------------------------

    async def start(self) -> None:
        await self.refresh()
        self._writer = asyncio.create_task(self._write_loop(), name="paper-writer")
        self._refresher = asyncio.create_task(self._refresh_loop(), name="paper-refresh")

    def tickers(self) -> set[str]:
        return set(self._by_ticker)

    async def on_tick(self, tick: Tick) -> None:
        for runner in list(self._by_ticker.get(tick.ticker, ())):
            try:
                step = runner.trader.on_tick(tick.price, tick.timestamp, tick.volume)
            except Exception as exc:
                logger.exception("paper session %s failed on a tick", runner.session_id)
                self._drop(runner.session_id)
                self._queue.put_nowait(("failed", runner.session_id, f"tick refused: {exc}"))
                continue
            if step:
                self.fills_made += len(step.fills)
                self._queue.put_nowait(
                    (runner.session_id, runner.trader.snapshot(), step.closed, step.fills)
                )
                runner.dirty = False
                if self.on_fill is not None:
                    for fill in step.fills:
                        self.on_fill(runner.session_id, fill)
            elif step.accepted:
                runner.dirty = True

    async def stop(self) -> None:
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        self._queue_dirty()
        await self.flush()
        writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    # -- housekeeping --------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every queued step is persisted."""
        if self._writer is None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if job is not None:
                    await self._persist(job)
            return
        await self._queue.join()

    async def refresh(self) -> None:
        """Reload running sessions, drop stopped ones, save the progress of those that moved."""
        self._queue_dirty()
        loaded = await database_sync_to_async(_load_sessions)(
            self.runner, self.session_id, set(self.sessions)
        )
        for pk in list(self.sessions):
            if pk not in loaded:
                del self.sessions[pk]
        for pk, runner in loaded.items():
            if runner is not None:
                self.sessions[pk] = runner
        by_ticker: dict[str, list[SessionRunner]] = {}
        for runner in self.sessions.values():
            by_ticker.setdefault(runner.ticker, []).append(runner)
        self._by_ticker = by_ticker

    def _queue_dirty(self) -> None:
        for runner in self.sessions.values():
            if runner.dirty:
                runner.dirty = False
                self._queue.put_nowait((runner.session_id, runner.trader.snapshot(), [], []))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database hiccup must not end paper trading; the next refresh retries.
                logger.exception("paper sessions refresh failed")

    def _drop(self, session_id: int) -> None:
        """Stop trading a session at once (stopped, deleted or failed)."""
        runner = self.sessions.pop(session_id, None)
        if runner is None:
            return
        group = [r for r in self._by_ticker.get(runner.ticker, []) if r is not runner]
        if group:
            self._by_ticker[runner.ticker] = group
        else:
            self._by_ticker.pop(runner.ticker, None)

    async def _persist(self, job: tuple) -> None:
        if job[0] == "failed":
            _, session_id, reason = job
            try:
                await database_sync_to_async(_fail)(session_id, reason)
            except Exception:
                logger.exception("could not mark paper session %s failed", session_id)
            return
        try:
            alive = await database_sync_to_async(_record)(job)
        except DatabaseError:
            # The database, not the session: the next step or refresh writes again.
            logger.exception("could not persist paper session %s", job[0])
            return
        except Exception as exc:
            # The ledger refused this session's step (a fill out of its range, ...): only
            # this session stops.
            logger.exception("paper session %s failed to persist a step", job[0])
            self._drop(job[0])
            try:
                await database_sync_to_async(_fail)(job[0], f"step refused: {_reason(exc)}")
            except Exception:
                logger.exception("could not mark paper session %s failed", job[0])
            return
        if not alive:
            # Stopped (or deleted) meanwhile: stop trading it at once.
            self._drop(job[0])

    async def _write_loop(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                if job is None:
                    return
                await self._persist(job)
            finally:
                self._queue.task_done()
