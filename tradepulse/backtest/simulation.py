"""The simulation: fills, sizing, equity and statistics on plain arrays (no pandas).

Execution follows backtesting.py 0.6's defaults (``Backtest(data, strategy)`` with
``trade_on_close=False, hedging=False, exclusive_orders=False, finalize_trades=False``):

* A strategy decides after a bar's close; the order fills at the next bar's open. A decision on
  the last bar never fills. Decisions start on bar ``strategy.warmup + 1``.
* Entries size to all available equity in whole units, the commission counted inside the unit
  cost: ``units = floor(cash * (1 - eps) / (price * (1 + commission)))``; with too little cash
  for one unit the entry is skipped.
* The commission is a fraction of traded value, charged on entry and on exit.
* Equity is marked at each bar's close. If it reaches zero or below (a short can lose more than
  the account), the position is closed at that close and the account stops trading.
* A position still open at the end is valued at the last close in the equity, but is not a
  closed trade: it counts in no trade statistic, nor in exposure or commissions.

Settings, sizing, commission and the minimum bar count are :mod:`tradepulse.broker`'s rules,
shared with the paper trader. Signals and equity are vectorised; only the list of position
changes is walked in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradepulse import broker

from .stats import Calendar, ClosedTrades, compute_stats_many
from .strategies import Strategy


@dataclass
class Simulation:
    """Raw outcome of :func:`simulate_many` for one target series: the closed trades, equity
    and any open position."""

    trades: ClosedTrades
    size: npt.NDArray[np.int64]
    entry_price: npt.NDArray[np.float64]
    exit_price: npt.NDArray[np.float64]
    equity: npt.NDArray[np.float64]
    open_trade: dict[str, Any] | None


def _walk_changes(
    prices: list[float],
    unit_costs: list[float],
    wanted: list[int],
    cash: float,
    rate: float,
    cheapest_after: list[float],
) -> tuple[list[int], list[float]]:
    """Position (signed units) and cash after each change; the one sequential part.

    Whole-unit sizing depends on the cash left by the previous trade. A position opened at one
    change is always closed at the next, since the target moved away from it.
    ``cheapest_after[i]`` is the lowest unit cost from change ``i`` on: once a flat account
    cannot pay for one unit of it, no later entry can fill and the walk ends early.
    """
    money = cash
    pos = 0
    entry = 0.0
    held_after: list[int] = []
    cash_after: list[float] = []
    for i, (price, unit_cost, target) in enumerate(zip(prices, unit_costs, wanted, strict=True)):
        if not pos and money * broker.FULL_EQUITY < cheapest_after[i]:
            rest = len(prices) - i
            return held_after + [0] * rest, cash_after + [money] * rest
        if pos:
            money += pos * (price - entry) - broker.commission_on(pos, price, rate)
            pos = 0
        if target:
            units = broker.entry_units(money, unit_cost)
            if units:
                money -= broker.commission_on(units, price, rate)
                pos = units * target
                entry = price
        held_after.append(pos)
        cash_after.append(money)
    return held_after, cash_after


def _walk_long_only(
    buys: list[float],
    buy_costs: list[float],
    sells: list[float],
    cash: float,
    rate: float,
    cheapest_after: list[float],
) -> tuple[list[int], list[int], list[float]]:
    """:func:`_walk_changes` when changes alternate buy, sell, buy, ...: only fills cost work.

    ``buys[i]``/``sells[i]`` are the fill prices of round trip ``i`` (``sells`` may be one
    shorter), ``buy_costs[i]`` the unit cost of its entry and ``cheapest_after[i]`` the lowest
    unit cost from entry ``i`` on. Returns the round trips that filled: their index, units and
    the cash after their entry commission. The cash between round trips follows from these
    (the caller vectorises it): an entry that does not fill leaves the cash as it was, and an
    exit adds ``units * (sell - buy) - units * sell * rate``.
    """
    money = cash
    budget = (money if money > 0 else 0.0) * broker.FULL_EQUITY
    filled: list[int] = []
    bought: list[int] = []
    cash_in: list[float] = []
    if len(sells) < len(buys):
        sells = [*sells, 0.0]  # the last entry has no exit: its cash after "exit" is unused
    pairs = zip(buys, sells, buy_costs, cheapest_after, strict=True)
    for i, (buy, sell, unit_cost, cheapest) in enumerate(pairs):
        if budget < unit_cost:  # not one unit: skipped, and the cash stays as it is
            if budget < cheapest:
                break  # no later entry can fill either
            continue
        units = broker.entry_units(money, unit_cost)
        if not units:
            continue
        money -= broker.commission_on(units, buy, rate)
        filled.append(i)
        bought.append(units)
        cash_in.append(money)
        money += units * (sell - buy) - broker.commission_on(units, sell, rate)
        budget = (money if money > 0 else 0.0) * broker.FULL_EQUITY
    return filled, bought, cash_in


def _trade_results(
    size: npt.NDArray[np.int64],
    entry: npt.NDArray[np.float64],
    exit_: npt.NDArray[np.float64],
    rate: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Commission, profit and return (fraction) of closed trades, as backtesting.py computes."""
    commission = broker.commission_on(size, exit_, rate) + broker.commission_on(size, entry, rate)
    pnl = size * (exit_ - entry) - commission
    ret = np.sign(size) * (exit_ / entry - 1) - commission / (np.abs(size) * entry)
    return commission, pnl, ret


# Bars per slice when building equity curves: the temporaries of a slice stay in the CPU cache
# and are reused, where whole-curve temporaries would each be a fresh array (page faults).
_EQUITY_CHUNK = 1 << 15


def _equity_curves(
    close: npt.NDArray[np.float64],
    k: int,
    state_bar: npt.NDArray[np.int64],
    state_cash: npt.NDArray[np.float64],
    state_size: npt.NDArray[np.float64],
    state_entry: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``k`` equity curves from account states, as a ``(k, len(close))`` array.

    State ``j`` holds from flat bar ``state_bar[j]`` (row ``r`` covers flat bars ``r * n`` to
    ``(r + 1) * n - 1``) until the next state; its equity at a bar is
    ``cash + close * size - size * entry``.
    """
    n = len(close)
    state_end = np.append(state_bar[1:], k * n)
    state_cost = state_size * state_entry
    if k * n <= 4 * _EQUITY_CHUNK:
        lengths = state_end - state_bar
        equity = np.repeat(state_cash, lengths).reshape(k, n)
        equity += close * np.repeat(state_size, lengths).reshape(k, n)
        equity -= np.repeat(state_cost, lengths).reshape(k, n)
        return equity
    equity = np.empty((k, n))
    flat = equity.reshape(-1)
    for row in range(k):
        for lo in range(0, n, _EQUITY_CHUNK):
            hi = min(n, lo + _EQUITY_CHUNK)
            a, b = row * n + lo, row * n + hi
            first = int(np.searchsorted(state_bar, a, side="right")) - 1
            last = int(np.searchsorted(state_bar, b, side="left"))
            lengths = np.minimum(state_end[first:last], b) - np.maximum(state_bar[first:last], a)
            part = flat[a:b]
            part[:] = np.repeat(state_cash[first:last], lengths)
            part += close[lo:hi] * np.repeat(state_size[first:last], lengths)
            part -= np.repeat(state_cost[first:last], lengths)
    return equity


def simulate_many(
    open_: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    targets: list[npt.NDArray[np.int8]],
    first_decision_bars: list[int],
    cash: float,
    commission: float,
) -> tuple[list[Simulation], npt.NDArray[np.float64]]:
    """Run the broker for several target series over one price series.

    ``targets[i][t]`` is acted on after the close of bar ``t`` when it differs from
    ``targets[i][t - 1]``; targets before ``first_decision_bars[i]`` count as flat. Returns one
    :class:`Simulation` per target series and the equity curves as a 2-D array (row ``i``).
    """
    n = len(close)
    k = len(targets)
    rate = float(commission)
    cash = float(cash)
    # Bars where each row's target changes, found for all rows at once. Targets count from
    # the row's first decision bar on (as if flat before); the last bar never fills.
    stacked = np.stack([np.asarray(t, dtype=np.int8) for t in targets])
    firsts = np.asarray(first_decision_bars, dtype=np.int64)
    if n > 2:
        row_of, change = np.divmod(np.flatnonzero(stacked[:, 1:-1] != stacked[:, :-2]), n - 2)
    else:
        row_of = change = np.zeros(0, dtype=np.int64)
    change = change + 1
    keep = change > firsts[row_of]
    row_of, change = row_of[keep], change[keep]
    starting = np.flatnonzero(
        (firsts < n - 1) & (stacked[np.arange(k), np.minimum(firsts, n - 1)] != 0)
    )
    if len(starting):
        row_of = np.concatenate((row_of, starting))
        change = np.concatenate((change, firsts[starting]))
        order = np.lexsort((change, row_of))
        row_of, change = row_of[order], change[order]
    wanted = stacked[row_of, change]
    fills = change + 1
    prices = open_[fills]
    unit_costs = broker.unit_cost(prices, rate)
    counts = np.bincount(row_of, minlength=k)
    starts = np.cumsum(counts) - counts
    # Rows whose changes alternate buy, sell, buy, ... take the shorter long-only walk.
    parity = (np.arange(len(row_of)) - starts[row_of]) % 2
    irregular = np.bincount(row_of, weights=wanted != (parity == 0), minlength=k) > 0

    # Lowest entry cost from each change to the end of its row (exits cost nothing), for all
    # rows at once: rows are laid side by side, padded, and accumulated from the right.
    total = len(row_of)
    width = int(counts.max()) if k else 0
    column = np.arange(total) - starts[row_of]
    grid = np.full((k, width), np.inf)
    grid[row_of, column] = np.where(wanted != 0, unit_costs, np.inf)
    cheapest = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1][row_of, column]

    price_list, cost_list, cheapest_list = prices.tolist(), unit_costs.tolist(), cheapest.tolist()
    held = np.zeros(total, dtype=np.int64)
    cash_after = np.empty(total)
    fill_at: list[int] = []
    fill_units: list[int] = []
    fill_cash: list[float] = []
    walks: list[tuple[int, int, list[int], list[float]]] = []
    for i in range(k):
        lo, hi = int(starts[i]), int(starts[i] + counts[i])
        if irregular[i]:
            held_list, cash_list = _walk_changes(
                price_list[lo:hi],
                cost_list[lo:hi],
                wanted[lo:hi].tolist(),
                cash,
                rate,
                cheapest_list[lo:hi],
            )
            walks.append((lo, hi, held_list, cash_list))
            continue
        filled, bought, cash_in = _walk_long_only(
            price_list[lo:hi:2],
            cost_list[lo:hi:2],
            price_list[lo + 1 : hi : 2],
            cash,
            rate,
            cheapest_list[lo:hi:2],
        )
        fill_at += [lo + 2 * j for j in filled]
        fill_units += bought
        fill_cash += cash_in

    # Cash after each change of the long-only rows: a filled entry has its own, the exit after
    # it adds the trade's result, and every other change keeps the cash of the change before
    # it (the starting cash at the start of a row).
    at = np.asarray(fill_at, dtype=np.int64)
    units = np.asarray(fill_units, dtype=np.int64)
    held[at] = units
    defined = np.zeros(total, dtype=bool)
    value = np.empty(total)
    defined[starts[counts > 0]] = True
    value[starts[counts > 0]] = cash
    defined[at] = True
    value[at] = fill_cash
    exits = at[(at + 1 < total) & (row_of[np.minimum(at + 1, total - 1)] == row_of[at])]
    exit_units = held[exits].astype(np.float64)
    sold, paid = prices[exits + 1], prices[exits]
    defined[exits + 1] = True
    value[exits + 1] = value[exits] + (
        exit_units * (sold - paid) - broker.commission_on(exit_units, sold, rate)
    )
    np.take(value, np.maximum.accumulate(np.where(defined, np.arange(total), 0)), out=cash_after)
    for lo, hi, held_list, cash_list in walks:
        held[lo:hi] = held_list
        cash_after[lo:hi] = cash_list

    # All rows at once from here: row r's changes are a slice of these flat arrays.
    state_bar = np.insert(fills + row_of * n, starts, np.arange(k) * n)
    state_cash = np.insert(cash_after, starts, cash)
    state_size = np.insert(held.astype(np.float64), starts, 0.0)
    state_entry = np.insert(np.where(held != 0, prices, 0.0), starts, 0.0)
    equity = _equity_curves(close, k, state_bar, state_cash, state_size, state_entry)

    # A position opened at one change closes at the row's next change.
    opened = np.flatnonzero((held[:-1] != 0) & (row_of[:-1] == row_of[1:]))
    t_row = row_of[opened]
    t_entry, t_exit, t_size = fills[opened], fills[opened + 1], held[opened]
    t_entry_px, t_exit_px = prices[opened], prices[opened + 1]
    per_row = np.bincount(t_row, minlength=k)
    bounds = np.concatenate(([0], np.cumsum(per_row))).tolist()
    columns: list[list[Any]] = [
        [col[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        for col in (
            t_entry,
            t_exit,
            t_size,
            t_entry_px,
            t_exit_px,
            *_trade_results(t_size, t_entry_px, t_exit_px, rate),
        )
    ]

    # Per row: the last change (a position still open at the end) and whether the account ran
    # out of money (equity is the starting cash until the first fill, so the whole row counts).
    last = np.maximum(starts + counts - 1, 0)
    if total:
        open_at_end = ((counts > 0) & (held[last] != 0)).tolist()
        last_fill, last_size, last_price = (
            fills[last].tolist(),
            held[last].tolist(),
            prices[last].tolist(),
        )
    else:
        open_at_end = [False] * k
    ruined = (equity.min(axis=1) <= 0).tolist() if n else [False] * k
    sims = []
    for i in range(k):
        t_entry, t_exit, t_size, t_entry_px, t_exit_px, comm, pnl, ret = (col[i] for col in columns)
        open_trade: dict[str, Any] | None = None
        if open_at_end[i]:
            open_trade = {
                "entry_bar": last_fill[i],
                "size": last_size[i],
                "entry_price": last_price[i],
            }
        if ruined[i]:
            # Out of money: close what is open at this bar's close and stop, as backtesting.py.
            first = first_decision_bars[i]
            tail = equity[i, first:]
            stop = int(np.flatnonzero(tail <= 0)[0]) + first
            keep = t_exit <= stop
            t_entry, t_exit, t_size = t_entry[keep], t_exit[keep], t_size[keep]
            t_entry_px, t_exit_px = t_entry_px[keep], t_exit_px[keep]
            row_fills = fills[starts[i] : starts[i] + counts[i]]
            j = int(np.searchsorted(row_fills, stop, side="right")) - 1
            if j >= 0 and held[starts[i] + j]:
                t_entry = np.append(t_entry, row_fills[j])
                t_exit = np.append(t_exit, stop)
                t_size = np.append(t_size, held[starts[i] + j])
                t_entry_px = np.append(t_entry_px, prices[starts[i] + j])
                t_exit_px = np.append(t_exit_px, close[stop])
            comm, pnl, ret = _trade_results(t_size, t_entry_px, t_exit_px, rate)
            equity[i, stop:] = 0.0
            open_trade = None
        trades = ClosedTrades(
            entry_bar=t_entry, exit_bar=t_exit, pnl=pnl, return_frac=ret, commission=comm
        )
        sims.append(Simulation(trades, t_size, t_entry_px, t_exit_px, equity[i], open_trade))
    return sims, equity


def run_prepared(
    open_: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    calendar: Calendar,
    strategies: Sequence[Strategy],
    targets: list[npt.NDArray[np.int8]],
    cash: float,
    commission: float,
) -> tuple[list[dict[str, Any]], list[Simulation]]:
    """Simulate and compute statistics for several strategies on validated bars at once."""
    warmups = [strategy.warmup for strategy in strategies]
    sims, equity = simulate_many(open_, close, targets, [w + 1 for w in warmups], cash, commission)
    stats = compute_stats_many(calendar, close, equity, [sim.trades for sim in sims], warmups)
    return stats, sims


def run_strategy(
    dates: npt.NDArray[np.int64],
    open_: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    strategy: Strategy,
    cash: float,
    commission: float,
) -> tuple[dict[str, Any], Simulation]:
    """One strategy on validated bars (dates as UTC nanoseconds): its statistics and simulation.

    Raises :class:`~tradepulse.errors.SettingError` on bad money settings and
    :class:`~tradepulse.errors.DataError` when there are too few bars (:mod:`tradepulse.broker`).
    """
    cash, commission = broker.check_cash(cash), broker.check_commission(commission)
    broker.check_bar_count(len(close), strategy)
    calendar = Calendar.from_ns(dates)
    target = strategy.target_positions(close)
    all_stats, sims = run_prepared(open_, close, calendar, [strategy], [target], cash, commission)
    return all_stats[0], sims[0]
