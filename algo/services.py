"""Writes of the algo app: backtest runs and paper-trading sessions.

Views, commands and the Celery task only translate input and output; everything that
changes a run or a session goes through here.
"""

from __future__ import annotations

import logging
import math
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
from ledger.models import Trade
from ledger.services import trade_create
from tradepulse import broker
from tradepulse.backtest import (
    BacktestError,
    DataError,
    MovingAverageCrossover,
    backtest,
    download,
    load_csv,
    synthetic_bars,
)
from tradepulse.errors import SettingError
from tradepulse.papertrading import Fill, PaperTrader, parse_interval
from tradepulse.symbols import InvalidTicker, normalize_ticker

logger = logging.getLogger(__name__)

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off", ""}


# -- input cleaning ----------------------------------------------------------------------


def _int(data: Mapping[str, Any], name: str, default: int | None, *, minimum: int = 1) -> int:
    raw = data.get(name, default)
    if raw is None or raw == "":
        if default is None:
            raise FieldError(name, "This field is required.")
        raw = default
    if isinstance(raw, bool):
        raise FieldError(name, f"must be a whole number, got {raw!r}")
    try:
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip())
    except ValueError:
        raise FieldError(name, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise FieldError(name, f"must be >= {minimum}, got {value}")
    return value


def _float(data: Mapping[str, Any], name: str, default: float) -> float:
    raw = data.get(name, default)
    if raw is None or raw == "" or isinstance(raw, bool):
        if isinstance(raw, bool):
            raise FieldError(name, f"must be a number, got {raw!r}")
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FieldError(name, f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise FieldError(name, f"must be a finite number, got {raw!r}")
    return value


def _bool(data: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = data.get(name, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise FieldError(name, f"must be true or false, got {raw!r}")


def _field_error(exc: BacktestError) -> FieldError:
    """The engine's error for a request field (the engine names the field it checked)."""
    return FieldError(exc.field or "non_field_errors", exc.reason)


def strategy_params_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate fast, slow, kind, allow_short, cash and commission (defaults 10/20/sma/false/
    10000/0) by the engine's rules; raises :class:`FieldError` naming the first bad field."""
    fast = _int(data, "fast", 10)
    slow = _int(data, "slow", 20)
    kind = str(data.get("kind") or "sma").strip().lower()
    allow_short = _bool(data, "allow_short", False)
    cash = _float(data, "cash", 10_000.0)
    commission = _float(data, "commission", 0.0)
    try:
        MovingAverageCrossover(fast, slow, kind, allow_short)
        broker.check_cash(cash)
        broker.check_commission(commission)
    except SettingError as exc:
        raise _field_error(exc) from None
    return {
        "fast": fast,
        "slow": slow,
        "kind": kind,
        "allow_short": allow_short,
        "cash": cash,
        "commission": commission,
    }


def _strategy(params: Mapping[str, Any]) -> MovingAverageCrossover:
    return MovingAverageCrossover(
        params["fast"], params["slow"], params["kind"], params["allow_short"]
    )


# -- backtests ---------------------------------------------------------------------------


def run_dir(run: BacktestRun) -> Path:
    return Path(settings.ALGO_DATA_DIR) / "backtests" / str(run.pk)


def _bars_path(run: BacktestRun) -> Path:
    return run_dir(run) / "bars.csv"


def backtest_data_clean(data: Mapping[str, Any], *, has_file: bool) -> dict[str, Any]:
    """Which bars to use: exactly one of ``ticker``, an uploaded ``file`` or ``synthetic``."""
    given = [
        name
        for name, present in (
            ("ticker", bool(str(data.get("ticker") or "").strip())),
            ("file", has_file),
            ("synthetic", data.get("synthetic") not in (None, "")),
        )
        if present
    ]
    if len(given) != 1:
        raise FieldError(
            "ticker" if not given else given[1],
            "give exactly one source of bars: ticker, file (CSV upload) or synthetic (a number "
            "of generated bars)" + (f"; got {', '.join(given)}" if given else ""),
        )
    source = given[0]
    if source == "synthetic":
        bars = _int(data, "synthetic", None, minimum=2)
        if bars > settings.BACKTEST_MAX_BARS:
            raise FieldError("synthetic", f"at most {settings.BACKTEST_MAX_BARS:,} bars")
        seed = _int(data, "seed", 0, minimum=0)
        freq = str(data.get("freq") or "1D").strip()
        return {"source": "synthetic", "bars": bars, "seed": seed, "freq": freq}
    if source == "ticker":
        try:
            ticker = normalize_ticker(str(data.get("ticker")))
        except InvalidTicker as exc:
            raise FieldError("ticker", str(exc)) from None
        period = str(data.get("period") or "1y").strip()
        interval = str(data.get("interval") or "1d").strip()
        return {"source": "ticker", "ticker": ticker, "period": period, "interval": interval}
    return {"source": "csv"}


def _load_bars(spec: Mapping[str, Any], csv_path: Path | None) -> pd.DataFrame:
    source = spec["source"]
    if source == "synthetic":
        try:
            return synthetic_bars(spec["bars"], seed=spec["seed"], freq=spec.get("freq", "1D"))
        except DataError as exc:
            raise FieldError(exc.field or "synthetic", str(exc)) from None
    if source == "ticker":
        try:
            return download(spec["ticker"], period=spec["period"], interval=spec["interval"])
        except DataError as exc:
            raise MarketDataUnavailable(str(exc)) from None
    assert csv_path is not None
    try:
        return load_csv(csv_path)
    except DataError as exc:
        # The temporary path means nothing to the uploader: name the uploaded file instead.
        message = str(exc).replace(str(csv_path), spec.get("name") or "file")
        raise FieldError("file", message) from None


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
    params: Mapping[str, Any],
    data: Mapping[str, Any],
    upload=None,
    csv_path: str | Path | None = None,
) -> BacktestRun:
    """Validate, load the bars and run a backtest (or queue it); return the stored run.

    ``params`` is raw strategy input (see :func:`strategy_params_clean`); ``data`` names the
    bars (see :func:`backtest_data_clean`); a CSV comes as an uploaded file (``upload``) or a
    local path (``csv_path``). Raises :class:`FieldError` on bad input and
    :class:`MarketDataUnavailable` when a ticker cannot be downloaded. A run is queued for the
    Celery worker instead of run inline when ``REDIS_URL`` is set and the bars exceed
    ``BACKTEST_INLINE_MAX_BARS``.
    """
    clean = strategy_params_clean(params)
    spec = backtest_data_clean(data, has_file=upload is not None or csv_path is not None)
    staging = Path(settings.ALGO_DATA_DIR) / "uploads" / timezone.now().strftime("%Y%m%d%H%M%S%f")
    local_csv: Path | None = None
    try:
        if spec["source"] == "csv":
            if upload is not None:
                spec["name"] = Path(getattr(upload, "name", "") or "upload.csv").name
                local_csv = staging / "bars.csv"
                _save_upload(upload, local_csv)
            else:
                local_csv = Path(csv_path)  # type: ignore[arg-type]
                spec["name"] = local_csv.name
        bars = _load_bars(spec, local_csv)
        if len(bars) > settings.BACKTEST_MAX_BARS:
            raise FieldError(
                "file" if spec["source"] == "csv" else spec["source"],
                f"{len(bars):,} bars; at most {settings.BACKTEST_MAX_BARS:,}",
            )
        try:
            broker.check_bar_count(len(bars), _strategy(clean))
        except DataError as exc:
            raise _field_error(exc) from None
        run = BacktestRun.objects.create(
            owner=owner, params=clean, data=spec, bars=len(bars), status=BacktestRun.Status.QUEUED
        )
        if spec["source"] != "synthetic":
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
        params = run.params
        result = backtest(
            bars, _strategy(params), cash=params["cash"], commission=params["commission"]
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

    params = run.params
    result = backtest(
        backtest_bars(run), _strategy(params), cash=params["cash"], commission=params["commission"]
    )
    # Drawn beside, then renamed: a concurrent request never reads half a file.
    partial = path.with_name(f".{path.stem}-{timezone.now().timestamp():.6f}{path.suffix}")
    plot_backtest(result, partial)
    partial.replace(path)
    return path


# -- paper trading -----------------------------------------------------------------------


def paper_params_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a paper session's input: ticker, bar, fast, slow, kind, allow_short, cash,
    commission, quantity (optional whole units per trade)."""
    raw_ticker = data.get("ticker")
    if raw_ticker in (None, ""):
        raise FieldError("ticker", "This field is required.")
    try:
        # The ledger's rule: a session's fills must be storable as trades.
        ticker = normalize_ticker(raw_ticker)
    except InvalidTicker as exc:
        raise FieldError("ticker", str(exc)) from None
    params = strategy_params_clean(data)
    bar = str(data.get("bar") or "1m").strip().lower()
    try:
        parse_interval(bar)
    except SettingError as exc:
        raise _field_error(exc) from None
    quantity = None
    if data.get("quantity") not in (None, ""):
        quantity = _int(data, "quantity", None)
    return {"ticker": ticker, "bar": bar, "quantity": quantity, **params}


def paper_session_start(*, owner, data: Mapping[str, Any], runner: str) -> PaperSession:
    """Create a running session from raw input (see :func:`paper_params_clean`)."""
    clean = paper_params_clean(data)
    strategy = {k: clean[k] for k in ("fast", "slow", "kind", "allow_short", "commission")}
    return PaperSession.objects.create(
        owner=owner,
        ticker=clean["ticker"],
        interval=clean["bar"],
        params=strategy,
        cash=Decimal(repr(clean["cash"])),
        quantity=clean["quantity"],
        runner=runner,
        status=PaperSession.Status.RUNNING,
    )


def paper_session_stop(*, session: PaperSession) -> PaperSession:
    """Stop a session (idempotent). Its feed sink drops it at its next refresh."""
    if session.status != PaperSession.Status.STOPPED:
        session.status = PaperSession.Status.STOPPED
        session.stopped_at = timezone.now()
        session.save(update_fields=["status", "stopped_at", "updated_at"])
    return session


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
