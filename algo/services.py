"""Writes of the algo app: backtest runs and paper-trading sessions.

Views, commands and the Celery task only translate input and output; everything that
changes a run or a session goes through here.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from algo.errors import FieldError, MarketDataUnavailable, RunFinished, RunNotReady, TooManyRuns
from algo.models import BacktestRun, PaperBar, PaperSession
from algo.params import (
    BarsSource,
    CsvBars,
    PaperSessionParams,
    StrategyParams,
    SyntheticBars,
    TickerBars,
)
from ledger.models import Trade
from ledger.services import trade_create
from tradepulse import broker
from tradepulse.backtest import (
    BacktestError,
    DataError,
    backtest,
    download,
    load_csv,
    synthetic_bars,
)
from tradepulse.papertrading import Fill, PaperTrader

logger = logging.getLogger(__name__)

# -- backtests ---------------------------------------------------------------------------


def run_dir(run: BacktestRun) -> Path:
    return Path(settings.ALGO_DATA_DIR) / "backtests" / str(run.pk)


def _bars_path(run: BacktestRun) -> Path:
    return run_dir(run) / "bars.csv"


def load_bars(source: BarsSource, csv_path: Path | None) -> pd.DataFrame:
    """The bars ``source`` names (``csv_path`` holds an uploaded CSV's copy); engine errors
    name their field."""
    if isinstance(source, SyntheticBars):
        try:
            return synthetic_bars(source.bars, seed=source.seed, freq=source.freq)
        except DataError as exc:
            raise FieldError(exc.field or "synthetic", str(exc)) from None
    if isinstance(source, TickerBars):
        try:
            return download(source.ticker, period=source.period, interval=source.interval)
        except DataError as exc:
            raise MarketDataUnavailable(str(exc)) from None
    assert csv_path is not None
    try:
        return load_csv(csv_path)
    except DataError as exc:
        # The temporary path means nothing to the uploader: name the uploaded file instead.
        raise FieldError("file", str(exc).replace(str(csv_path), source.name)) from None


def save_upload(upload, destination: Path) -> None:
    """Copy an uploaded CSV to ``destination``, refusing one over BACKTEST_MAX_UPLOAD_BYTES."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    limit = settings.BACKTEST_MAX_UPLOAD_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise FieldError("file", f"the CSV is larger than {limit:,} bytes")
    with open(destination, "wb") as out:
        for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
            out.write(chunk)


def backtest_create(
    *,
    owner,
    params: StrategyParams,
    source: BarsSource,
    upload=None,
    csv_path: str | Path | None = None,
) -> BacktestRun:
    """Run a backtest inline, or queue it for the worker; return the stored run.

    A CSV comes as an uploaded file (``upload``) or a local path (``csv_path``). A run is
    queued instead of run inline when ``REDIS_URL`` is set and it has more bars than
    ``BACKTEST_INLINE_MAX_BARS`` (a ticker: when Yahoo may send more, see
    :func:`_ticker_bars_at_most`); a queued run builds its bars in the worker, which generates,
    reads or downloads them (a CSV's or a download's problems then fail the run with the
    message a 400 or 502 would give). A queued ticker run has ``bars`` 0 until then. A run whose
    enqueue fails (broker down) is stored as failed with the reason.

    Raises :class:`FieldError` when the bars do not fit the strategy,
    :class:`MarketDataUnavailable` when a ticker cannot be downloaded and
    :class:`TooManyRuns` past ``BACKTEST_MAX_ACTIVE_PER_USER`` queued or running runs.
    """
    _check_capacity(owner)
    staging = Path(settings.ALGO_DATA_DIR) / "uploads" / timezone.now().strftime("%Y%m%d%H%M%S%f")
    local_csv: Path | None = None
    bars: pd.DataFrame | None = None
    try:
        if isinstance(source, CsvBars):
            if upload is not None:
                local_csv = staging / "bars.csv"
                save_upload(upload, local_csv)
            else:
                local_csv = Path(csv_path)  # type: ignore[arg-type]
        count = _bars_without_loading(source, local_csv)
        if count is not None:
            to_worker = _queued(count)
        else:
            # A ticker goes to the worker, which downloads it, when Yahoo may send more bars
            # than run inline; the count is then known (and checked) there.
            at_most = _ticker_bars_at_most(source) if isinstance(source, TickerBars) else None
            to_worker = at_most is not None and _queued(at_most)
        if not to_worker:
            bars = load_bars(source, local_csv)
            count = len(bars)
        if count is not None:
            _check_bars(count, params, source)
        with transaction.atomic():
            _check_capacity(owner, lock=True)
            run = BacktestRun.objects.create(
                owner=owner,
                params=params.as_json(),
                data=source.as_json(),
                bars=count or 0,
                status=BacktestRun.Status.QUEUED,
            )
        if bars is not None and not isinstance(source, SyntheticBars):
            path = _bars_path(run)
            path.parent.mkdir(parents=True, exist_ok=True)
            bars.to_csv(path)
        elif local_csv is not None:
            path = _bars_path(run)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Read, checked and counted by the worker.
            shutil.copyfile(local_csv, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if to_worker:
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: backtest_enqueue(run_id=run.pk))
            return run
        return backtest_enqueue(run_id=run.pk)
    return backtest_execute(run_id=run.pk, bars=bars)


def _queued(count: int) -> bool:
    return bool(settings.REDIS_URL) and count > settings.BACKTEST_INLINE_MAX_BARS


# Yahoo Finance's periods in days (``max``: every year since 1900, more than any symbol has)
# and its intervals in seconds with how far back each one goes (intraday history is short).
_YAHOO_PERIOD_DAYS = {
    "1d": 1,
    "5d": 5,
    "1mo": 31,
    "3mo": 92,
    "6mo": 184,
    "ytd": 366,
    "1y": 366,
    "2y": 731,
    "5y": 1827,
    "10y": 3653,
    "max": 366 * 150,
}
_DAY = 86_400
_YAHOO_INTERVALS = {  # interval: (seconds, days of history Yahoo keeps at it)
    "1m": (60, 8),
    "2m": (120, 60),
    "5m": (300, 60),
    "15m": (900, 60),
    "30m": (1800, 60),
    "60m": (3600, 730),
    "90m": (5400, 60),
    "1h": (3600, 730),
    "1d": (_DAY, None),
    "5d": (5 * _DAY, None),
    "1wk": (7 * _DAY, None),
    "1mo": (28 * _DAY, None),
    "3mo": (89 * _DAY, None),
}


def _ticker_bars_at_most(source: TickerBars) -> int | None:
    """At most how many bars Yahoo sends for the source's period and interval (every hour of
    every day counted), without downloading; None for a period or interval Yahoo does not
    name (downloaded in the request, which reports Yahoo's answer)."""
    days = _YAHOO_PERIOD_DAYS.get(source.period)
    interval = _YAHOO_INTERVALS.get(source.interval)
    if days is None or interval is None:
        return None
    seconds, history_days = interval
    if history_days is not None:
        days = min(days, history_days)
    return days * _DAY // seconds + 1


def _bars_without_loading(source: BarsSource, csv_path: Path | None) -> int | None:
    """How many bars a source has, when that is known without building them."""
    if isinstance(source, SyntheticBars):
        return source.bars
    if isinstance(source, CsvBars) and csv_path is not None and csv_path.is_file():
        with open(csv_path, "rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        return max(0, lines - 1)  # the header
    return None


def _check_bars(count: int, params: StrategyParams, source: BarsSource) -> None:
    if count > settings.BACKTEST_MAX_BARS:
        raise FieldError(
            "file" if isinstance(source, CsvBars) else "ticker",
            f"{count:,} bars; at most {settings.BACKTEST_MAX_BARS:,}",
        )
    try:
        broker.check_bar_count(count, params.strategy())
    except DataError as exc:
        raise FieldError(exc.field or "slow", exc.reason) from None


def _check_capacity(owner, *, lock: bool = False) -> None:
    limit = settings.BACKTEST_MAX_ACTIVE_PER_USER
    if lock:
        # One user's concurrent POSTs count and create one after the other.
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
    active = BacktestRun.objects.filter(owner=owner, status__in=BacktestRun.ACTIVE).count()
    if active >= limit:
        raise TooManyRuns(
            f"you have {active} backtests queued or running; at most {limit} at once "
            "(BACKTEST_MAX_ACTIVE_PER_USER). Wait for one to finish or cancel one with "
            "DELETE /api/backtests/<id>/."
        )


ENQUEUE_FAILED = "could not queue the run for the worker"


def backtest_enqueue(*, run_id: int) -> BacktestRun:
    """Hand a queued run to the Celery worker. When the broker cannot take it, the run is
    failed with the reason (it would otherwise stay queued for ever) and returned so."""
    from algo.tasks import run_backtest

    try:
        sent = run_backtest.delay(run_id)
    except Exception as exc:
        logger.exception("backtest %s could not be queued", run_id)
        _finish(
            run_id,
            None,
            status=BacktestRun.Status.FAILED,
            error=f"{ENQUEUE_FAILED}: the broker is unavailable ({_one_line(exc)})",
            among=(BacktestRun.Status.QUEUED,),
        )
    else:
        task_id = getattr(sent, "id", None)
        if task_id:
            BacktestRun.objects.filter(pk=run_id).update(task_id=task_id)
    return BacktestRun.objects.get(pk=run_id)


def _one_line(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())[:300]


def backtest_cancel(*, run: BacktestRun) -> BacktestRun:
    """Cancel a queued or running run: it ends as ``cancelled`` and its task is revoked (a
    running one is stopped). Raises :class:`RunFinished` for a run that already ended."""
    was = run.status
    cancelled = _finish(
        run.pk,
        None,
        status=BacktestRun.Status.CANCELLED,
        error="cancelled by its owner",
        among=BacktestRun.ACTIVE,
    )
    run.refresh_from_db()
    if not cancelled:
        raise RunFinished(
            f"backtest {run.pk} is already {run.status}; only a queued or "
            "running run can be cancelled"
        )
    if run.task_id:
        from config.celery import app

        try:
            app.control.revoke(
                run.task_id, terminate=was == BacktestRun.Status.RUNNING, signal="SIGTERM"
            )
        except Exception:
            # The worker still skips it: it checks the status before and after running.
            logger.warning("could not revoke the task of backtest %s", run.pk, exc_info=True)
    return run


def _finish(
    run_id: int,
    attempt: int | None,
    *,
    among: tuple[str, ...] = (BacktestRun.Status.RUNNING,),
    **fields: Any,
) -> bool:
    """End a run if it is still in one of ``among`` (and, with ``attempt``, still that
    delivery's): a cancelled run or a newer delivery is never overwritten."""
    query = BacktestRun.objects.filter(pk=run_id, status__in=among)
    if attempt is not None:
        query = query.filter(attempts=attempt)
    if "error" in fields:
        fields["error"] = fields["error"][:2000]
    return bool(query.update(finished_at=timezone.now(), **fields))


def backtest_reap() -> int:
    """Fail runs whose broker message is gone, e.g. with the broker's data (Redis restarted
    without persistence). Returns how many were failed.

    - ``running`` longer than the broker's visibility timeout plus a reaper interval: their
      worker died and the broker did not deliver them again.
    - ``queued`` longer than the visibility timeout with no task in the broker (neither
      waiting in its queue nor taken by a worker): no worker will ever run them. Left alone
      while the broker cannot be read.
    """
    limit = settings.BACKTEST_VISIBILITY_TIMEOUT + settings.BACKTEST_REAPER_INTERVAL
    stale = timezone.now() - timedelta(seconds=limit)
    reaped = BacktestRun.objects.filter(
        status=BacktestRun.Status.RUNNING, started_at__lt=stale
    ).update(
        status=BacktestRun.Status.FAILED,
        finished_at=timezone.now(),
        error=f"the worker running it stopped and it was not delivered again within {limit} s",
    )
    if reaped:
        logger.warning("failed %s backtest(s) whose worker stopped", reaped)
    return reaped + _reap_lost_queued()


def _reap_lost_queued() -> int:
    timeout = settings.BACKTEST_VISIBILITY_TIMEOUT
    waiting = dict(
        BacktestRun.objects.filter(
            status=BacktestRun.Status.QUEUED,
            created_at__lt=timezone.now() - timedelta(seconds=timeout),
        ).values_list("pk", "task_id")
    )
    if not waiting:
        return 0
    in_broker = _tasks_in_broker({task_id for task_id in waiting.values() if task_id})
    if in_broker is None:
        return 0
    lost = [pk for pk, task_id in waiting.items() if not task_id or task_id not in in_broker]
    # Still queued when failed: a run a worker took up meanwhile is left to it.
    reaped = BacktestRun.objects.filter(pk__in=lost, status=BacktestRun.Status.QUEUED).update(
        status=BacktestRun.Status.FAILED,
        finished_at=timezone.now(),
        error=f"its task was lost by the broker: queued for more than {timeout} s and no "
        "longer in the broker's queue; post it again",
    )
    if reaped:
        logger.warning("failed %s queued backtest(s) whose task the broker lost", reaped)
    return reaped


def _tasks_in_broker(task_ids: set[str]) -> set[str] | None:
    """Which of ``task_ids`` the Redis broker holds, waiting in the task queue or taken by a
    worker and not yet acknowledged; None when the broker cannot be read."""
    from config.celery import app

    found: set[str] = set()

    def look(raw_messages) -> None:
        for raw in raw_messages:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            found.update(task_id for task_id in task_ids - found if task_id in text)

    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            if not hasattr(channel, "conn_or_acquire"):
                return None  # not Redis: nothing to read
            queue = app.conf.task_default_queue
            lists = sorted({channel._q_for_pri(queue, step) for step in channel.priority_steps})
            with channel.conn_or_acquire() as client:
                # Queue, unacknowledged, queue again: a message moving between the two (taken
                # by a worker, or handed back after the visibility timeout) is seen once.
                for key in lists:
                    look(client.lrange(key, 0, -1))
                look(client.hvals(channel.unacked_key))
                for key in lists:
                    look(client.lrange(key, 0, -1))
    except Exception as exc:
        logger.warning("could not read the broker's queue: %s", _one_line(exc))
        return None
    return found


def backtest_bars(run: BacktestRun) -> pd.DataFrame:
    """The bars a run used (regenerated for synthetic runs, read back otherwise)."""
    spec = run.data
    if spec.get("source") == "synthetic":
        return synthetic_bars(spec["bars"], seed=spec["seed"], freq=spec.get("freq", "1D"))
    path = _bars_path(run)
    if spec.get("source") == "ticker" and not path.exists():
        # A queued ticker run: downloaded here, in the worker, and kept for its plots.
        bars = download(spec["ticker"], period=spec["period"], interval=spec["interval"])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}-{timezone.now().timestamp():.6f}")
        bars.to_csv(partial)
        partial.replace(path)
        return bars
    try:
        return load_csv(path)
    except DataError as exc:
        raise DataError(str(exc).replace(str(path), spec.get("name") or "file")) from None


def backtest_execute(*, run_id: int, bars: pd.DataFrame | None = None) -> BacktestRun:
    """Run a stored backtest and save its results; failures end as status ``failed``.

    Safe to deliver twice: a finished or cancelled run is returned as it is, and a run found
    ``running`` is one whose worker died (the broker delivers an unacknowledged task again
    after its visibility timeout): it runs again, or fails once it has been taken up
    ``BACKTEST_MAX_ATTEMPTS`` times.
    """
    run = BacktestRun.objects.filter(pk=run_id).first()
    if run is None or run.status in BacktestRun.FINISHED:
        return run  # type: ignore[return-value]
    if run.status == BacktestRun.Status.RUNNING and run.attempts >= settings.BACKTEST_MAX_ATTEMPTS:
        _finish(
            run_id,
            run.attempts,
            status=BacktestRun.Status.FAILED,
            error=f"the worker running it stopped ({run.attempts} attempts); not retried again",
        )
        return BacktestRun.objects.get(pk=run_id)
    attempt = run.attempts + 1
    claimed = BacktestRun.objects.filter(
        pk=run_id, status=run.status, attempts=run.attempts
    ).update(status=BacktestRun.Status.RUNNING, started_at=timezone.now(), attempts=attempt)
    if not claimed:
        # Cancelled, or taken up by another delivery, meanwhile.
        return BacktestRun.objects.get(pk=run_id)
    try:
        if bars is None:
            bars = backtest_bars(run)
            if len(bars) != run.bars:
                BacktestRun.objects.filter(pk=run_id).update(bars=len(bars))
        params = StrategyParams.from_json(run.params)
        if len(bars) > settings.BACKTEST_MAX_BARS:
            raise BacktestError(f"{len(bars):,} bars; at most {settings.BACKTEST_MAX_BARS:,}")
        result = backtest(
            bars, params.strategy(), cash=float(params.cash), commission=params.commission
        )
    except (BacktestError, OSError) as exc:
        _finish(run_id, attempt, status=BacktestRun.Status.FAILED, error=str(exc))
        return BacktestRun.objects.get(pk=run_id)
    except SoftTimeLimitExceeded:
        _finish(
            run_id,
            attempt,
            status=BacktestRun.Status.FAILED,
            error=f"it ran longer than BACKTEST_TIME_LIMIT ({settings.BACKTEST_TIME_LIMIT} s)",
        )
        return BacktestRun.objects.get(pk=run_id)
    except Exception as exc:
        logger.exception("backtest %s failed", run_id)
        _finish(
            run_id,
            attempt,
            status=BacktestRun.Status.FAILED,
            error=f"internal error: {type(exc).__name__}",
        )
        raise
    open_trade = result.open_trade
    if open_trade is not None:
        open_trade = {
            "entry_bar": int(open_trade["entry_bar"]),
            "size": int(open_trade["size"]),
            "entry_price": float(open_trade["entry_price"]),
            "entry_time": open_trade["entry_time"].isoformat(),
        }
    _finish(
        run_id,
        attempt,
        status=BacktestRun.Status.DONE,
        stats=result.to_json_dict(),
        trades=result.trades_json(),
        open_trade=open_trade,
    )
    return BacktestRun.objects.get(pk=run_id)


def backtest_plot(*, run: BacktestRun, kind: str) -> Path:
    """The run's picture (``png`` or ``html``), drawn by the engine on first request."""
    if run.status != BacktestRun.Status.DONE:
        raise RunNotReady(f"backtest {run.pk} is {run.status}; plots exist once it is done")
    path = run_dir(run) / f"plot.{kind}"
    if path.exists():
        return path
    from tradepulse.backtest.plots import plot_backtest

    params = StrategyParams.from_json(run.params)
    result = backtest(
        backtest_bars(run), params.strategy(), cash=float(params.cash), commission=params.commission
    )
    # Drawn beside, then renamed: a concurrent request never reads half a file.
    partial = path.with_name(f".{path.stem}-{timezone.now().timestamp():.6f}{path.suffix}")
    plot_backtest(result, partial)
    partial.replace(path)
    return path


# -- paper trading -----------------------------------------------------------------------


def paper_session_start(*, owner, params: PaperSessionParams, runner: str) -> PaperSession:
    """Create a running session."""
    strategy = params.strategy.as_json()
    return PaperSession.objects.create(
        owner=owner,
        ticker=params.ticker,
        interval=params.bar,
        params={k: strategy[k] for k in ("fast", "slow", "kind", "allow_short", "commission")},
        cash=params.strategy.cash,
        quantity=params.quantity,
        runner=runner,
        status=PaperSession.Status.RUNNING,
    )


def paper_session_stop(*, session: PaperSession) -> PaperSession:
    """Stop a running session (idempotent; a failed one stays failed). Its feed sink drops it
    at its next refresh."""
    if session.status == PaperSession.Status.RUNNING:
        session.status = PaperSession.Status.STOPPED
        session.stopped_at = timezone.now()
        session.save(update_fields=["status", "stopped_at", "updated_at"])
    return session


def paper_session_fail(*, session_id: int, reason: str) -> bool:
    """Mark a running session failed with ``reason`` (kept to 1,000 characters); False when it
    was not running. Its trades stay in the ledger."""
    return bool(
        PaperSession.objects.filter(pk=session_id, status=PaperSession.Status.RUNNING).update(
            status=PaperSession.Status.FAILED,
            error=reason[:1000],
            stopped_at=timezone.now(),
            updated_at=timezone.now(),
        )
    )


def paper_trader_for(session: PaperSession) -> PaperTrader:
    """A trader for the session, restored from its persisted bars and state if any."""
    params = session.params
    trader = PaperTrader.crossover(
        fast=params["fast"],
        slow=params["slow"],
        kind=params["kind"],
        allow_short=params["allow_short"],
        interval=session.interval,
        cash=float(session.cash),
        commission=params["commission"],
        quantity=session.quantity,
    )
    if session.state:
        closes = list(
            PaperBar.objects.filter(session=session)
            .order_by("index")
            .values_list("close", flat=True)[: session.state["bar_count"]]
        )
        trader.restore(session.state, closes)
    return trader


def _decimal(value: float) -> Decimal:
    # repr() is the shortest string that round-trips the float: a tick of 101.23 stays 101.23.
    return Decimal(repr(float(value)))


def _fill_trade(session: PaperSession, fill: Fill) -> bool:
    """Write one fill to the ledger; False when it was already there (a replayed fill)."""
    ref = f"{session.pk}:{fill.ref}"
    # The ledger's unique (owner, source, source_ref) refuses a fill written before.
    try:
        with transaction.atomic():
            trade_create(
                owner=session.owner,
                data={
                    "ticker": session.ticker,
                    "side": fill.side,
                    "price": _decimal(fill.price),
                    "quantity": Decimal(fill.quantity),
                    "timestamp": fill.timestamp,
                },
                source=Trade.Source.PAPER,
                source_ref=ref,
            )
    except IntegrityError:
        return False
    return True


def paper_session_record(
    *,
    session_id: int,
    state: Mapping[str, Any],
    bars: list = (),  # type: ignore[assignment]
    fills: list[Fill] = (),  # type: ignore[assignment]
) -> bool:
    """Persist one step of a session in one transaction: closed bars, fills (as ledger trades
    with ``source="paper"`` and ``source_ref="<session>:<bar>:<leg>"``) and the trader state.

    Returns False (writing nothing) when the session is gone or stopped. Writing the same bar
    or fill twice is harmless: both are unique per session.
    """
    with transaction.atomic():
        session = (
            PaperSession.objects.select_for_update()
            .select_related("owner")
            .filter(pk=session_id, status=PaperSession.Status.RUNNING)
            .first()
        )
        if session is None:
            return False
        if bars:
            known = set(
                PaperBar.objects.filter(
                    session=session, index__in=[b.index for b in bars]
                ).values_list("index", flat=True)
            )
            PaperBar.objects.bulk_create(
                [
                    PaperBar(
                        session=session,
                        index=b.index,
                        time=b.time,
                        open=b.open,
                        high=b.high,
                        low=b.low,
                        close=b.close,
                        volume=b.volume,
                    )
                    for b in bars
                    if b.index not in known
                ]
            )
        written = sum(_fill_trade(session, fill) for fill in fills)
        session.state = dict(state)
        session.position = int(state["position"])
        session.last_price = state.get("last_price")
        session.fills += written
        session.save(update_fields=["state", "position", "last_price", "fills", "updated_at"])
    return True
