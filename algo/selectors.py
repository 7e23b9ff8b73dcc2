"""Reads of the algo app. Every query is scoped to one owner."""

from __future__ import annotations

import logging
from decimal import Context, Decimal, localcontext
from typing import Any

from django.db.models import QuerySet

from algo.models import BacktestRun, PaperSession
from ledger.models import Trade
from tradepulse.positions import fifo_positions
from tradepulse.trades import format_decimal

logger = logging.getLogger(__name__)


def backtest_queryset(*, owner) -> QuerySet[BacktestRun]:
    return BacktestRun.objects.filter(owner=owner)


def paper_session_queryset(*, owner) -> QuerySet[PaperSession]:
    return PaperSession.objects.filter(owner=owner)


def paper_session_figures(session: PaperSession) -> dict[str, Any]:
    """Position, cash, equity at the last price and P&L of a session, from its saved state."""
    state = session.state or {}
    initial = float(session.cash)
    money = float(state.get("money", initial))
    position = int(state.get("position", 0))
    entry = float(state.get("entry_price", 0.0))
    last = state.get("last_price")
    cash = money - position * entry
    equity = money if not position or last is None else money + position * (last - entry)
    return {
        "position": position,
        "entry_price": entry if position else None,
        "cash": cash,
        "equity": equity,
        "pnl": equity - initial,
        "last_price": last,
        "last_tick_time": state.get("last_tick_time"),
        "bars": int(state.get("bar_count", 0)),
        "commissions": float(state.get("commissions_paid", 0.0)),
        "halted": bool(state.get("halted", False)),
    }


def live_price(ticker: str) -> float | None:
    """The latest live price the feed published for ``ticker`` (see live.selectors)."""
    from live.selectors import last_price

    return last_price(ticker)


# Enough significant digits for the largest figures the ledger allows (1e12 x 1e12 with 8 +
# 8 decimal places) to be computed exactly; the default 28 rounds them (or fails to quantize).
_FIGURES = Context(prec=60)


def _money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    value = value.quantize(Decimal("0.00000001"), context=_FIGURES)
    # (90 - 90) x -3 is Decimal("-0"); nobody wants to read "-0".
    return format_decimal(value if value else abs(value))


def positions_list(*, owner, ticker: str | None = None, include_closed: bool = False) -> list[dict]:
    """Per ticker: open quantity, FIFO average cost, realised P&L, last price (``price_source``
    ``live`` or ``last_trade``), market value and unrealised P&L, as Decimal strings.

    Closed positions (quantity 0) are listed only with ``include_closed`` (their realised P&L
    stays of interest).
    """
    trades = Trade.objects.filter(owner=owner)
    if ticker:
        trades = trades.filter(ticker=ticker)
    rows = (
        trades.order_by("ticker", "timestamp", "id")
        .values_list("ticker", "side", "price", "quantity", named=True)
        .iterator(chunk_size=5000)
    )
    with localcontext(_FIGURES):
        return _position_rows(rows, include_closed)


def _position_rows(rows, include_closed: bool) -> list[dict]:
    out = []
    for symbol, position in sorted(fifo_positions(rows).items()):
        quantity = position.quantity
        if not quantity and not include_closed:
            continue
        live = live_price(symbol) if quantity else None
        price: Decimal | None
        if live is not None:
            price, source = Decimal(repr(live)), "live"
        else:
            price, source = position.last_price, "last_trade"
        out.append(
            {
                "ticker": symbol,
                "quantity": format_decimal(quantity),
                "average_cost": _money(position.average_cost),
                "realized_pnl": _money(position.realized_pnl),
                "last_price": _money(price),
                "price_source": source,
                "market_value": _money(position.market_value(price)) if price is not None else None,
                "unrealized_pnl": _money(position.unrealized_pnl(price))
                if price is not None
                else None,
            }
        )
    return out


def positions_totals(rows: list[dict]) -> dict[str, str | None]:
    """Sums over rows of :func:`positions_list`: market value, realised and unrealised P&L
    (None where no row has a figure), as Decimal strings."""
    totals: dict[str, str | None] = {}
    for name in ("market_value", "realized_pnl", "unrealized_pnl"):
        figures = [Decimal(r[name]) for r in rows if r.get(name) is not None]
        totals[name] = _money(sum(figures, Decimal(0))) if figures else None
    return totals


def paper_session_fills(session: PaperSession, *, limit: int = 20) -> list[Trade]:
    """The ledger trades a session's fills wrote, newest first."""
    return list(
        Trade.objects.filter(
            owner_id=session.owner_id,
            source=Trade.Source.PAPER,
            source_ref__startswith=f"{session.pk}:",
        ).order_by("-timestamp", "-id")[:limit]
    )
