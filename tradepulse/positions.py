"""Open positions and realised P&L from a list of fills, first in, first out, in ``Decimal``.

Rules:

* Fills are applied in the order given (callers pass them by time, then id).
* A buy first covers open short lots, oldest first, then opens a long lot with what is left;
  a sell first consumes open long lots, oldest first, then opens a short lot with what is left.
  So selling more than is held closes the long and goes short by the difference (and buying
  more than is short closes the short and goes long).
* Realised P&L of a consumed part of a lot: ``(sell price - buy price) x quantity``, whichever
  came first. Commissions are not part of a fill here, so they are not deducted.
* The average cost of an open position is the quantity-weighted price of its open lots; the
  quantity is signed (negative for a short). Unrealised P&L at a price ``p`` is
  ``(p - average cost) x quantity``, which holds for longs and shorts alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

__all__ = ["FillLike", "Lot", "Position", "fifo_positions"]

ZERO = Decimal(0)


class FillLike(Protocol):
    """What :func:`fifo_positions` reads from a fill (a ledger trade fits)."""

    ticker: str
    side: str  # "buy" | "sell"
    price: Decimal
    quantity: Decimal  # positive


@dataclass(slots=True)
class Lot:
    """An open lot: ``quantity`` is positive; its direction is the position's sign."""

    quantity: Decimal
    price: Decimal


@dataclass(slots=True)
class Position:
    """One ticker's position: open lots (all long or all short), realised P&L, last fill."""

    ticker: str
    lots: deque[Lot] = field(default_factory=deque)
    direction: int = 0  # +1 long, -1 short, 0 flat
    realized_pnl: Decimal = ZERO
    last_price: Decimal | None = None
    fills: int = 0

    @property
    def quantity(self) -> Decimal:
        """Signed open quantity (negative for a short)."""
        return sum((lot.quantity for lot in self.lots), ZERO) * self.direction

    @property
    def average_cost(self) -> Decimal | None:
        """Quantity-weighted price of the open lots; ``None`` when flat."""
        total = sum((lot.quantity for lot in self.lots), ZERO)
        if not total:
            return None
        return sum((lot.quantity * lot.price for lot in self.lots), ZERO) / total

    def market_value(self, price: Decimal) -> Decimal:
        return self.quantity * price

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        average = self.average_cost
        if average is None:
            return ZERO
        return (price - average) * self.quantity

    def apply(self, side: str, quantity: Decimal, price: Decimal) -> None:
        """Apply one fill (see the module rules)."""
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be buy or sell, got {side!r}")
        sign = 1 if side == "buy" else -1
        self.fills += 1
        self.last_price = price
        remaining = quantity
        if self.direction == -sign:
            lots = self.lots
            while remaining and lots:
                lot = lots[0]
                used = min(lot.quantity, remaining)
                # A long lot sold: (sell - buy); a short lot bought back: (short sale - buy).
                self.realized_pnl += (price - lot.price) * used * self.direction
                lot.quantity -= used
                remaining -= used
                if not lot.quantity:
                    lots.popleft()
            if not lots:
                self.direction = 0
        if remaining:
            self.lots.append(Lot(remaining, price))
            self.direction = sign


def fifo_positions(fills: Iterable[FillLike]) -> dict[str, Position]:
    """Every ticker's :class:`Position` after applying ``fills`` in order."""
    positions: dict[str, Position] = {}
    for fill in fills:
        position = positions.get(fill.ticker)
        if position is None:
            position = positions[fill.ticker] = Position(fill.ticker)
        position.apply(fill.side, Decimal(fill.quantity), Decimal(fill.price))
    return positions
