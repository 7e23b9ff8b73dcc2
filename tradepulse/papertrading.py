"""Paper trading: a strategy run on live ticks, with the backtester's execution rules.

A :class:`PaperTrader` aggregates the ticks of one ticker into bars of a fixed interval (aligned
to UTC multiples, as :func:`tradepulse.backtest.bars_from_ticks` does) and, whenever a bar
closes, calls the strategy's pure signal function (:meth:`Strategy.target_positions`) on the
closes of every bar so far. A change of the target after bar ``t``'s close is filled at the open
of bar ``t + 1``, which is the first tick of that bar, so it fills on the very tick that closed
bar ``t``. Settings, sizing and commission are :mod:`tradepulse.broker`'s rules, and the
out-of-money stop follows :mod:`tradepulse.backtest.engine` operation for operation, so paper trading over a series of
ticks produces exactly the trades the backtest of the same bars produces.

The trader is plain state and has no clock: it is driven by ticks only, and its whole state is a
JSON-safe dict (:meth:`PaperTrader.snapshot` / :meth:`PaperTrader.restore`), so a runner can
persist it and resume after a restart without repeating a fill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from tradepulse import broker
from tradepulse.backtest.strategies import MovingAverageCrossover, Strategy
from tradepulse.errors import SettingError

__all__ = [
    "Bar",
    "Fill",
    "PaperTrader",
    "MAX_CASH",
    "StepResult",
    "parse_interval",
]

# ASCII digits, few of them: "\d" takes any script's digits, and int() refuses a run of more
# than 4,300 (ValueError, not an answer naming the bar).
_INTERVAL_RE = re.compile(r"^\s*([0-9]{1,9})\s*(s|m|min|h|d)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = timedelta(seconds=5)
MAX_INTERVAL = timedelta(days=1)
# Cash a session may start with: its fills must stay within the ledger's price x quantity.
MAX_CASH = 1e12


def parse_interval(text: str) -> timedelta:
    """Read a bar interval such as ``"5s"``, ``"1m"``, ``"15m"``, ``"1h"`` or ``"1d"``.

    Accepts 5 seconds to 1 day; raises :class:`~tradepulse.errors.SettingError` naming ``bar``
    otherwise.
    """
    match = _INTERVAL_RE.match(text or "")
    if not match:
        raise SettingError("bar", f"{text!r} is not an interval like 5s, 1m, 5m, 1h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if not MIN_INTERVAL.total_seconds() <= seconds <= MAX_INTERVAL.total_seconds():
        # Checked before building a timedelta, which overflows on a long run of digits.
        raise SettingError("bar", f"{text!r} must be between 5s and 1d")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar: ``index`` counts bars from the session start (0-based)."""

    index: int
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Fill:
    """One order filled by the trader.

    ``bar_index`` is the bar whose open filled it (the backtester's entry or exit bar), ``leg``
    is ``"exit"`` (closing a position) or ``"entry"`` (opening one); a reversal yields both on
    the same bar, exit first. ``quantity`` is positive; ``side`` says the direction.
    """

    bar_index: int
    bar_time: datetime
    timestamp: datetime
    leg: Literal["entry", "exit"]
    side: Literal["buy", "sell"]
    quantity: int
    price: float
    commission: float

    @property
    def ref(self) -> str:
        """A stable name of this fill within its session, e.g. ``"42:entry"``."""
        return f"{self.bar_index}:{self.leg}"


@dataclass(slots=True)
class StepResult:
    """What one tick changed: bars closed and fills made (both usually empty)."""

    closed: list[Bar] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    accepted: bool = True

    def __bool__(self) -> bool:
        return bool(self.closed or self.fills)


class PaperTrader:
    """Runs ``strategy`` on the live ticks of one ticker; see the module docstring.

    ``quantity=None`` sizes entries like the backtester (all equity in whole units, commission
    included in the unit cost); a whole ``quantity`` trades that many units each time instead
    (skipped, like an unaffordable backtest entry, when the cash cannot pay for it).

    Money is kept as the backtester keeps it: ``money`` is the account value with the open
    position marked at its entry price; :attr:`cash` is what a broker would show (money minus
    the cost of a long, plus the proceeds of a short) and :meth:`equity` marks the position at
    the last price. Ticks older than the last one accepted are ignored (a replay after a
    reconnect cannot move the trader backwards).
    """

    def __init__(
        self,
        strategy: Strategy,
        *,
        interval: str | timedelta = "1m",
        cash: float = 10_000.0,
        commission: float = 0.0,
        quantity: int | None = None,
    ) -> None:
        self.strategy = strategy
        self.interval_text = interval if isinstance(interval, str) else None
        self.interval = parse_interval(interval) if isinstance(interval, str) else interval
        if not MIN_INTERVAL <= self.interval <= MAX_INTERVAL:
            raise SettingError("bar", "must be between 5s and 1d")
        cash = broker.check_cash(cash, below=MAX_CASH)
        commission = broker.check_commission(commission)
        quantity = broker.check_quantity(quantity)
        self.initial_cash = float(cash)
        self.commission = float(commission)
        self.quantity = quantity
        self._width_us = int(self.interval / timedelta(microseconds=1))
        # Closed bars' closes (what the signal function reads) and their count.
        self.closes: list[float] = []
        self.bar_count = 0
        # The bar being built: [bucket, open, high, low, close, volume] or None.
        self.current: list[Any] | None = None
        self.last_tick_time: datetime | None = None
        self.last_price: float | None = None
        self.money = self.initial_cash
        self.position = 0
        self.entry_price = 0.0
        self.last_target = 0
        self.halted = False
        self.commissions_paid = 0.0

    # -- ticks -------------------------------------------------------------------------

    def on_tick(self, price: float, timestamp: datetime, volume: float | None = None) -> StepResult:
        """Feed one tick; returns the bars it closed and the fills it made."""
        result = StepResult()
        if timestamp.tzinfo is None:
            raise ValueError("tick timestamps must be timezone-aware")
        if self.last_tick_time is not None and timestamp < self.last_tick_time:
            result.accepted = False
            return result
        self.last_tick_time = timestamp
        self.last_price = float(price)
        bucket = self._bucket(timestamp)
        current = self.current
        vol = 0.0 if volume is None else float(volume)
        if current is not None and bucket == current[0]:
            current[2] = max(current[2], price)
            current[3] = min(current[3], price)
            current[4] = float(price)
            current[5] += vol
            return result
        if current is not None:
            bar = self._close_bar(current)
            result.closed.append(bar)
            if not self.halted:
                self._decide_and_fill(bar, float(price), timestamp, bucket, result)
        self.current = [bucket, float(price), float(price), float(price), float(price), vol]
        return result

    def _bucket(self, timestamp: datetime) -> int:
        delta = timestamp - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros // self._width_us

    def bucket_time(self, bucket: int) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=bucket * self._width_us)

    def _close_bar(self, current: list[Any]) -> Bar:
        bucket, open_, high, low, close, volume = current
        bar = Bar(self.bar_count, self.bucket_time(bucket), open_, high, low, close, volume)
        self.closes.append(close)
        self.bar_count += 1
        self.current = None
        return bar

    def _decide_and_fill(
        self, bar: Bar, price: float, timestamp: datetime, bucket: int, result: StepResult
    ) -> None:
        # Out of money (a short can lose more than the account): close at this bar's close
        # and stop trading, as the backtester does.
        if self.position and self.money + self.position * (bar.close - self.entry_price) <= 0:
            result.fills.append(
                self._exit(bar.index, bar.time, timestamp, bar.close, at_close=True)
            )
            self.halted = True
            return
        if bar.index < self.strategy.warmup + 1:
            target = 0
        else:
            closes = np.asarray(self.closes, dtype=np.float64)
            target = int(self.strategy.target_positions(closes)[-1])
        if target == self.last_target:
            return
        self.last_target = target
        fill_index = bar.index + 1
        fill_time = self.bucket_time(bucket)
        if self.position:
            result.fills.append(self._exit(fill_index, fill_time, timestamp, price))
        if target:
            entry = self._entry(fill_index, fill_time, timestamp, price, target)
            if entry is not None:
                result.fills.append(entry)

    def _exit(
        self,
        bar_index: int,
        bar_time: datetime,
        timestamp: datetime,
        price: float,
        *,
        at_close: bool = False,
    ) -> Fill:
        pos = self.position
        commission = broker.commission_on(pos, price, self.commission)
        self.money += pos * (price - self.entry_price) - commission
        self.commissions_paid += commission
        self.position = 0
        self.entry_price = 0.0
        leg: Literal["exit"] = "exit"
        # A stop at a bar's close belongs to that bar (the backtester's exit bar).
        return Fill(
            bar_index,
            bar_time,
            timestamp,
            leg,
            "sell" if pos > 0 else "buy",
            abs(pos),
            price,
            commission,
        )

    def _entry(
        self, bar_index: int, bar_time: datetime, timestamp: datetime, price: float, target: int
    ) -> Fill | None:
        rate = self.commission
        units = broker.entry_units(self.money, broker.unit_cost(price, rate), self.quantity)
        if not units:
            return None
        commission = broker.commission_on(units, price, rate)
        self.money -= commission
        self.commissions_paid += commission
        self.position = units * target
        self.entry_price = price
        return Fill(
            bar_index,
            bar_time,
            timestamp,
            "entry",
            "buy" if target > 0 else "sell",
            units,
            price,
            commission,
        )

    # -- figures -----------------------------------------------------------------------

    @property
    def cash(self) -> float:
        """Cash as a broker shows it: a long's cost paid out, a short's proceeds taken in."""
        return self.money - self.position * self.entry_price

    def equity(self, price: float | None = None) -> float:
        """Account value with the position marked at ``price`` (default: the last tick)."""
        mark = self.last_price if price is None else price
        if not self.position or mark is None:
            return self.money
        return self.money + self.position * (mark - self.entry_price)

    # -- persistence -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The trader's state as JSON-safe values, except the closed bars' closes.

        Closed bars are persisted one by one as they close (see :class:`Bar`); pass their
        closes back to :meth:`restore` together with this dict.
        """
        current = None
        if self.current is not None:
            current = list(self.current)
        return {
            "bar_count": self.bar_count,
            "current": current,
            "last_tick_time": self.last_tick_time.isoformat() if self.last_tick_time else None,
            "last_price": self.last_price,
            "money": self.money,
            "position": self.position,
            "entry_price": self.entry_price,
            "last_target": self.last_target,
            "halted": self.halted,
            "commissions_paid": self.commissions_paid,
        }

    def restore(self, state: dict[str, Any], closes: list[float]) -> None:
        """Resume from a :meth:`snapshot` and the closes of the bars closed before it."""
        if len(closes) != state["bar_count"]:
            raise ValueError(
                f"{len(closes)} persisted bars do not match the state's {state['bar_count']}"
            )
        self.closes = [float(c) for c in closes]
        self.bar_count = int(state["bar_count"])
        self.current = list(state["current"]) if state.get("current") else None
        stamp = state.get("last_tick_time")
        self.last_tick_time = datetime.fromisoformat(stamp) if stamp else None
        self.last_price = state.get("last_price")
        self.money = float(state["money"])
        self.position = int(state["position"])
        self.entry_price = float(state["entry_price"])
        self.last_target = int(state["last_target"])
        self.halted = bool(state.get("halted", False))
        self.commissions_paid = float(state.get("commissions_paid", 0.0))

    @classmethod
    def crossover(
        cls,
        *,
        fast: int,
        slow: int,
        kind: str = "sma",
        allow_short: bool = False,
        interval: str | timedelta = "1m",
        cash: float = 10_000.0,
        commission: float = 0.0,
        quantity: int | None = None,
    ) -> PaperTrader:
        """A trader for :class:`MovingAverageCrossover` (raises ``StrategyError`` on bad windows)."""
        return cls(
            MovingAverageCrossover(fast, slow, kind, allow_short),
            interval=interval,
            cash=cash,
            commission=commission,
            quantity=quantity,
        )
