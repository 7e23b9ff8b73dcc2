"""Parameter sweeps over the same bars a backtest takes, as a heatmap of one statistic.

A sweep is not stored: its result is shown at once. An uploaded CSV is kept (per user, under
``ALGO_DATA_DIR/sweeps/<user id>/<key>.csv``) so a cell of the heatmap can open that pair's
run on the very same bars (:func:`sweep_bars_path`).
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from algo.api.inputs import BacktestInput, first_error
from algo.errors import FieldError
from algo.params import SyntheticBars, TickerBars
from algo.services import load_bars, save_upload
from tradepulse.backtest import BacktestError
from tradepulse.backtest.grid import sweep
from tradepulse.backtest.stats import SWEEP_METRICS

#: The most (fast, slow) pairs one sweep may run from a request.
MAX_PAIRS = 400
_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class SweepResult:
    """``cells[i][j]`` is the pair (``fast[i]``, ``slow[j]``): None where fast >= slow,
    else ``{"value": metric or None, "heat": 0..1 or None, "return_pct", "trades"}``."""

    metric: str
    fast: list[int]
    slow: list[int]
    cells: list[list[dict[str, Any] | None]]
    best: dict[str, Any] | None
    source: dict[str, Any]  # the fields that name the bars again (for a pair's run)

    @property
    def rows(self) -> list[tuple[int, list[dict[str, Any] | None]]]:
        return list(zip(self.fast, self.cells, strict=True))


def _window_range(data: Mapping[str, Any], name: str) -> list[int]:
    text = str(data.get(name) or "").strip()
    if not text:
        raise FieldError(name, "This field is required.")
    parts = text.split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise FieldError(
            name, f"expected START:STOP[:STEP] in whole numbers, got {text!r}"
        ) from None
    if len(numbers) == 1:
        numbers = [numbers[0], numbers[0]]
    if len(numbers) not in (2, 3):
        raise FieldError(name, f"expected START:STOP[:STEP], got {text!r}")
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if start < 1 or step < 1 or stop < start:
        raise FieldError(name, f"expected 1 <= START <= STOP and STEP >= 1, got {text!r}")
    return list(range(start, stop + 1, step))


def sweep_bars_path(owner, key: str) -> Path | None:
    """The CSV a sweep of ``owner`` kept under ``key``, or None (bad or unknown key)."""
    if not _KEY.match(key or ""):
        return None
    path = Path(settings.ALGO_DATA_DIR) / "sweeps" / str(owner.pk) / f"{key}.csv"
    return path if path.is_file() else None


def backtest_sweep(
    *, owner, data: Mapping[str, Any], upload=None, csv_path: Path | None = None
) -> SweepResult:
    """Backtest every pair of the ``fast`` and ``slow`` ranges (``START:STOP[:STEP]``) on the
    bars ``data`` names (as :func:`algo.services.backtest_create` reads them), ranked by
    ``metric`` (default ``sharpe_ratio``). Raises :class:`FieldError` naming a bad field."""
    fasts, slows = _window_range(data, "fast"), _window_range(data, "slow")
    pairs = sum(1 for f in fasts for s in slows if f < s)
    if pairs == 0:
        raise FieldError("slow", "no pair with fast < slow in these ranges")
    if pairs > MAX_PAIRS:
        raise FieldError("fast", f"{pairs} pairs; at most {MAX_PAIRS} per sweep")
    metric = str(data.get("metric") or "sharpe_ratio").strip()
    if metric not in SWEEP_METRICS:
        raise FieldError("metric", f"must be one of {', '.join(SWEEP_METRICS)}, got {metric!r}")
    rest = {k: v for k, v in data.items() if k not in ("fast", "slow", "metric", "sweep")}
    if upload is not None:
        rest["file"] = upload
    given = BacktestInput(
        data={**rest, "fast": fasts[0], "slow": fasts[0] + 1},
        csv_name=csv_path.name if csv_path is not None else None,
    )
    if not given.is_valid():
        raise FieldError(*first_error(given.errors))
    strategy = given.strategy_params()
    spec = given.bars_source()
    params = {
        "kind": strategy.kind,
        "allow_short": strategy.allow_short,
        "cash": float(strategy.cash),
        "commission": strategy.commission,
    }
    source: dict[str, Any] = dict(params)
    if isinstance(spec, SyntheticBars):
        source.update(synthetic=spec.bars, seed=spec.seed, freq=spec.freq)
    elif isinstance(spec, TickerBars):
        source.update(ticker=spec.ticker, period=spec.period, interval=spec.interval)
    elif upload is not None:
        key = secrets.token_hex(16)
        csv_path = Path(settings.ALGO_DATA_DIR) / "sweeps" / str(owner.pk) / f"{key}.csv"
        save_upload(upload, csv_path)
        source["sweep"] = key
    else:
        assert csv_path is not None
        source["sweep"] = csv_path.stem
    bars = load_bars(spec, csv_path)
    if len(bars) > settings.BACKTEST_MAX_BARS:
        raise FieldError(
            spec["source"], f"{len(bars):,} bars; at most {settings.BACKTEST_MAX_BARS:,}"
        )
    try:
        table = sweep(
            bars,
            fast=fasts,
            slow=slows,
            metric=metric,
            kind=params["kind"],
            allow_short=params["allow_short"],
            cash=params["cash"],
            commission=params["commission"],
            workers=1,
        )
    except BacktestError as exc:
        raise FieldError("slow", str(exc)) from None
    found = {(int(row["fast"]), int(row["slow"])): row for row in table.to_dict(orient="records")}
    values = [v for v in (_finite(r[metric]) for r in found.values()) if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    cells: list[list[dict[str, Any] | None]] = []
    for f in fasts:
        line: list[dict[str, Any] | None] = []
        for s in slows:
            row = found.get((f, s))
            if row is None:
                line.append(None)
                continue
            value = _finite(row[metric])
            heat = None if value is None else (0.5 if high == low else (value - low) / (high - low))
            line.append(
                {
                    "fast": f,
                    "slow": s,
                    "value": value,
                    "heat": None if heat is None else round(heat, 3),
                    "return_pct": _finite(row["return_pct"]),
                    "trades": int(row["trades"]),
                }
            )
        cells.append(line)
    top = table.iloc[0].to_dict() if len(table) else None
    best = (
        {"fast": int(top["fast"]), "slow": int(top["slow"]), "value": _finite(top[metric])}
        if top is not None
        else None
    )
    return SweepResult(metric, fasts, slows, cells, best, source)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
