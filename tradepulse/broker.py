"""The broker's rules, written once for the backtester and the paper trader.

They follow backtesting.py 0.6's defaults, operation for operation, so that a backtest and a paper
session over the same bars fill the same trades:

* Settings: ``cash`` is a positive finite number; ``commission`` a fraction of traded value in
  ``[0, MAX_COMMISSION)``, charged on entry and on exit; a fixed ``quantity`` (paper trading) a
  whole number >= 1. A bad setting raises :class:`~tradepulse.backtest.errors.SettingError`
  naming its field.
* Sizing: an entry buys (or sells short) all available equity in whole units, the commission
  counted inside the unit cost (:func:`unit_cost`, :func:`entry_units`); with too little cash for
  one unit (or for the fixed quantity) the entry is skipped.
* Enough bars: a strategy decides from bar ``warmup + 1`` on, so it needs at least
  ``max(2, warmup + 1)`` bars (:func:`check_bar_count`, a :class:`DataError` naming the
  strategy's longest window).
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from tradepulse.errors import DataError, SettingError

if TYPE_CHECKING:
    from tradepulse.backtest.strategies import Strategy

__all__ = [
    "FULL_EQUITY",
    "MAX_COMMISSION",
    "MAX_QUANTITY",
    "check_bar_count",
    "check_cash",
    "check_commission",
    "check_quantity",
    "commission_on",
    "entry_units",
    "unit_cost",
]

#: backtesting.py sizes "all equity" orders as this fraction, so whole-unit rounding agrees.
FULL_EQUITY = 1 - sys.float_info.epsilon
#: Commissions are fractions of traded value below this.
MAX_COMMISSION = 0.1
#: Whole units per trade at most (what a 32-bit integer column holds).
MAX_QUANTITY = 2**31 - 1

_Price = TypeVar("_Price", float, "np.ndarray[Any, np.dtype[np.float64]]")


def _is_number(value: object) -> bool:
    return not isinstance(value, bool | np.bool_) and isinstance(value, int | float | np.number)


def check_cash(cash: object, *, below: float | None = None) -> float:
    """The starting cash as a float (positive, finite, under ``below`` if given), or
    :class:`SettingError` naming ``cash``."""
    if not (_is_number(cash) and math.isfinite(cash) and cash > 0):  # type: ignore[arg-type,operator]
        raise SettingError("cash", f"must be a positive number, got {cash!r}")
    if below is not None and not cash < below:  # type: ignore[operator]
        raise SettingError("cash", f"must be a positive number below {below:,.0f}, got {cash!r}")
    return float(cash)  # type: ignore[arg-type]


def check_commission(commission: object) -> float:
    """The commission rate as a float, or :class:`SettingError` naming ``commission``."""
    if not (_is_number(commission) and 0 <= commission < MAX_COMMISSION):  # type: ignore[operator]
        raise SettingError(
            "commission", f"must be a fraction in [0, {MAX_COMMISSION:g}), got {commission!r}"
        )
    return float(commission)  # type: ignore[arg-type]


def check_quantity(quantity: object) -> int | None:
    """A fixed number of units per trade (None: all equity), or :class:`SettingError`."""
    if quantity is None:
        return None
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int | np.integer)
        or not 1 <= quantity <= MAX_QUANTITY
    ):
        raise SettingError(
            "quantity", f"must be a whole number from 1 to {MAX_QUANTITY}, got {quantity!r}"
        )
    return int(quantity)


def check_bar_count(count: int, strategy: Strategy) -> None:
    """Raise :class:`DataError` (naming the strategy's longest window) when ``count`` bars are
    too few for ``strategy`` to make one decision that can fill."""
    if count < 2 or count <= strategy.warmup:
        raise DataError(
            f"{count} bars are too few for {strategy!r}: it needs at least "
            f"{max(2, strategy.warmup + 1)}",
            field=strategy.warmup_field,
        )


def unit_cost(price: _Price, rate: float) -> _Price:
    """The cost of one unit with the commission inside, by backtesting.py's operations (bit for
    bit: whole-unit rounding depends on it). Takes a price or an array of prices."""
    return price + FULL_EQUITY * price * rate / FULL_EQUITY


def entry_units(money: float, cost: float, quantity: int | None = None) -> int:
    """Units an entry fills with account value ``money`` at unit cost ``cost`` (see
    :func:`unit_cost`): all equity in whole units, or ``quantity``; 0 when unaffordable."""
    available = money if money > 0 else 0.0
    units = int((available * 1.0 * FULL_EQUITY) // cost) if quantity is None else quantity
    if not units or units * cost > available:
        return 0
    return units


def commission_on(units: Any, price: Any, rate: float) -> Any:
    """The commission of trading ``units`` (signed or not) at ``price``; arrays work too."""
    return abs(units) * price * rate
