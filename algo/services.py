"""Writes of the algo app: backtest runs and paper-trading sessions.

Views, commands and the Celery task only translate input and output; everything that
changes a run or a session goes through here.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from algo.errors import FieldError, MarketDataUnavailable, RunNotReady
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
from tradepulse.backtest import (
    BacktestError,
    DataError,
    backtest,
    download,
    load_csv,
    synthetic_bars,
)
from tradepulse.paper import Fill, PaperTrader

logger = logging.getLogger(__name__)

# -- backtests ---------------------------------------------------------------------------


def run_dir(run: BacktestRun) -> Path:
    return Path(settings.ALGO_DATA_DIR) / "backtests" / str(run.pk)


def _bars_path(run: BacktestRun) -> Path:
    return run_dir(run) / "bars.csv"


def _load_bars(source: BarsSource, csv_path: Path | None) -> pd.DataFrame:
    if isinstance(source, SyntheticBars):
        try:
            return synthetic_bars(source.bars, seed=source.seed, freq=source.freq)
        except DataError as exc:
            field = "freq" if "freq" in str(exc) or "frequency" in str(exc) else "synthetic"
            raise FieldError(field, str(exc)) from None
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


def _save_upload(upload, destination: Path) -> None:
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
    """Load the bars and run a backtest (or queue it); return the stored run.

    A CSV comes as an uploaded file (``upload``) or a local path (``csv_path``). Raises
    :class:`FieldError` when the bars do not fit the strategy and
    :class:`MarketDataUnavailable` when a ticker cannot be downloaded. A run is queued for the
    Celery worker instead of run inline when ``REDIS_URL`` is set and the bars exceed
    ``BACKTEST_INLINE_MAX_BARS``.
    """
    staging = Path(settings.ALGO_DATA_DIR) / "uploads" / timezone.now().strftime("%Y%m%d%H%M%S%f")
    local_csv: Path | None = None
    try:
        if isinstance(source, CsvBars):
            if upload is not None:
                local_csv = staging / "bars.csv"
                _save_upload(upload, local_csv)
            else:
                local_csv = Path(csv_path)  # type: ignore[arg-type]
        bars = _load_bars(source, local_csv)
        if len(bars) > settings.BACKTEST_MAX_BARS:
            raise FieldError(
                "file" if isinstance(source, CsvBars) else "ticker",
                f"{len(bars):,} bars; at most {settings.BACKTEST_MAX_BARS:,}",
            )
        strategy = params.strategy()
        if len(bars) <= strategy.warmup or len(bars) < 2:
            raise FieldError(
                "slow",
                f"{len(bars)} bars are too few for slow={params.slow}: it needs at least "
                f"{max(2, strategy.warmup + 1)}",
            )
        run = BacktestRun.objects.create(
            owner=owner,
            params=params.as_json(),
            data=source.as_json(),
            bars=len(bars),
            status=BacktestRun.Status.QUEUED,
        )
        if not isinstance(source, SyntheticBars):
            path = _bars_path(run)
            path.parent.mkdir(parents=True, exist_ok=True)
            bars.to_csv(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if settings.REDIS_URL and len(bars) > settings.BACKTEST_INLINE_MAX_BARS:
        from algo.tasks import run_backtest

        transaction.on_commit(lambda: run_backtest.delay(run.pk))
        return run
    return backtest_execute(run_id=run.pk, bars=bars)


def backtest_bars(run: BacktestRun) -> pd.DataFrame:
    """The bars a run used (regenerated for synthetic runs, read back otherwise)."""
    spec = run.data
    if spec.get("source") == "synthetic":
        return synthetic_bars(spec["bars"], seed=spec["seed"], freq=spec.get("freq", "1D"))
    return load_csv(_bars_path(run))


def backtest_execute(*, run_id: int, bars: pd.DataFrame | None = None) -> BacktestRun:
    """Run a stored backtest and save its results; failures end as status ``failed``.

    Safe to call twice (a redelivered task): a finished run is returned as it is.
    """
    run = BacktestRun.objects.get(pk=run_id)
    if run.status in (BacktestRun.Status.DONE, BacktestRun.Status.FAILED):
        return run
    run.status = BacktestRun.Status.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        if bars is None:
            bars = backtest_bars(run)
        params = StrategyParams.from_json(run.params)
        result = backtest(
            bars, params.strategy(), cash=float(params.cash), commission=params.commission
        )
    except (BacktestError, OSError) as exc:
        run.status = BacktestRun.Status.FAILED
        run.error = str(exc)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    except Exception as exc:
        logger.exception("backtest %s failed", run.pk)
        run.status = BacktestRun.Status.FAILED
        run.error = f"internal error: {type(exc).__name__}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.stats = result.to_json_dict()
    run.trades = result.trades_json()
    open_trade = result.open_trade
    if open_trade is not None:
        open_trade = {
            "entry_bar": int(open_trade["entry_bar"]),
            "size": int(open_trade["size"]),
            "entry_price": float(open_trade["entry_price"]),
            "entry_time": open_trade["entry_time"].isoformat(),
        }
    run.open_trade = open_trade
    run.status = BacktestRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["stats", "trades", "open_trade", "status", "finished_at"])
    return run


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
