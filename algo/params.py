"""Typed, frozen inputs of the algo services: what a strategy, a source of bars and a paper
session are made of once validated (by :mod:`algo.api.inputs`). Services take these, never
raw dicts; stored runs keep them as JSON (:meth:`StrategyParams.as_json`, ``BarsSource``'s
``as_json``) and read them back with :meth:`StrategyParams.from_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradepulse.backtest import MovingAverageCrossover


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """A moving-average crossover and its money: windows, average kind, shorting, starting
    cash and commission rate (a fraction of each fill's value)."""

    fast: int = 10
    slow: int = 20
    kind: str = "sma"
    allow_short: bool = False
    cash: Decimal = Decimal(10_000)
    commission: float = 0.0

    def strategy(self) -> MovingAverageCrossover:
        return MovingAverageCrossover(self.fast, self.slow, self.kind, self.allow_short)

    def as_json(self) -> dict[str, Any]:
        return {
            "fast": self.fast,
            "slow": self.slow,
            "kind": self.kind,
            "allow_short": self.allow_short,
            "cash": float(self.cash),
            "commission": self.commission,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StrategyParams:
        """Read back :meth:`as_json` (a stored run's ``params``)."""
        return cls(
            fast=data["fast"],
            slow=data["slow"],
            kind=data["kind"],
            allow_short=data["allow_short"],
            cash=Decimal(repr(data["cash"])),
            commission=data["commission"],
        )


@dataclass(frozen=True, slots=True)
class SyntheticBars:
    """``bars`` generated bars (:func:`tradepulse.backtest.synthetic_bars`)."""

    bars: int
    seed: int = 0
    freq: str = "1D"

    def as_json(self) -> dict[str, Any]:
        return {"source": "synthetic", "bars": self.bars, "seed": self.seed, "freq": self.freq}


@dataclass(frozen=True, slots=True)
class TickerBars:
    """Bars of ``ticker`` downloaded from Yahoo Finance."""

    ticker: str
    period: str = "1y"
    interval: str = "1d"

    def as_json(self) -> dict[str, Any]:
        return {
            "source": "ticker",
            "ticker": self.ticker,
            "period": self.period,
            "interval": self.interval,
        }


@dataclass(frozen=True, slots=True)
class CsvBars:
    """Bars from a CSV file (an upload or a local path), shown to its owner as ``name``."""

    name: str = "upload.csv"

    def as_json(self) -> dict[str, Any]:
        return {"source": "csv", "name": self.name}


BarsSource = SyntheticBars | TickerBars | CsvBars


@dataclass(frozen=True, slots=True)
class PaperSessionParams:
    """A paper session: the ledger ticker it trades, its bar interval, whole units per trade
    (``None``: all equity, as the backtester sizes) and its strategy."""

    ticker: str
    bar: str = "1m"
    quantity: int | None = None
    strategy: StrategyParams = field(default_factory=StrategyParams)
