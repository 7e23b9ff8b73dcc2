"""FIFO positions against hand-worked examples."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from tradepulse.positions import Position, fifo_positions


@dataclass
class F:
    ticker: str
    side: str
    price: D
    quantity: D


def test_a_partial_sale_consumes_the_oldest_lot_first():
    # Buy 10 @ 100, buy 10 @ 110, sell 15 @ 120:
    # 10 from lot 1 -> +200, 5 from lot 2 -> +50; left 5 @ 110.
    pos = fifo_positions(
        [
            F("AAPL", "buy", D("100"), D("10")),
            F("AAPL", "buy", D("110"), D("10")),
            F("AAPL", "sell", D("120"), D("15")),
        ]
    )["AAPL"]
    assert pos.quantity == D("5")
    assert pos.average_cost == D("110")
    assert pos.realized_pnl == D("250")
    assert pos.unrealized_pnl(D("100")) == D("-50")
    assert pos.market_value(D("100")) == D("500")


def test_average_cost_weights_the_remaining_lots():
    # Lots 4 @ 10.50 and 6 @ 11.25, sell 1 @ 12: 3 @ 10.50 + 6 @ 11.25 = 99 / 9 = 11.
    pos = fifo_positions(
        [
            F("X", "buy", D("10.50"), D("4")),
            F("X", "buy", D("11.25"), D("6")),
            F("X", "sell", D("12"), D("1")),
        ]
    )["X"]
    assert pos.quantity == D("9")
    assert pos.average_cost == D("11")
    assert pos.realized_pnl == D("1.50")


def test_selling_more_than_held_goes_short_by_the_difference():
    # Long 5 @ 100, sell 8 @ 90: realise -50 on the 5, then short 3 @ 90.
    pos = fifo_positions([F("X", "buy", D("100"), D("5")), F("X", "sell", D("90"), D("8"))])["X"]
    assert pos.quantity == D("-3")
    assert pos.average_cost == D("90")
    assert pos.realized_pnl == D("-50")
    # Short 3 @ 90 marked at 80: +30; its market value is negative.
    assert pos.unrealized_pnl(D("80")) == D("30")
    assert pos.market_value(D("80")) == D("-240")


def test_buying_back_a_short_realises_sale_minus_purchase_fifo():
    # Short 2 @ 50 then 2 @ 40; buy 3 @ 45: (50-45)*2 + (40-45)*1 = 5; left short 1 @ 40.
    # Then buy 4 @ 30: (40-30)*1 = 10 more, and long 3 @ 30.
    fills = [
        F("X", "sell", D("50"), D("2")),
        F("X", "sell", D("40"), D("2")),
        F("X", "buy", D("45"), D("3")),
    ]
    pos = fifo_positions(fills)["X"]
    assert (pos.quantity, pos.average_cost, pos.realized_pnl) == (D("-1"), D("40"), D("5"))
    pos.apply("buy", D("4"), D("30"))
    assert (pos.quantity, pos.average_cost, pos.realized_pnl) == (D("3"), D("30"), D("15"))


def test_closing_exactly_leaves_a_flat_position_with_its_realised_pnl():
    pos = fifo_positions([F("X", "buy", D("1.1"), D("0.5")), F("X", "sell", D("1.3"), D("0.5"))])[
        "X"
    ]
    assert pos.quantity == 0 and pos.average_cost is None
    assert pos.realized_pnl == D("0.10")
    assert pos.unrealized_pnl(D("5")) == 0


def test_tickers_are_kept_apart():
    positions = fifo_positions(
        [
            F("A", "buy", D("1"), D("1")),
            F("B", "sell", D("2"), D("1")),
            F("A", "buy", D("3"), D("1")),
        ]
    )
    assert positions["A"].quantity == D("2") and positions["A"].average_cost == D("2")
    assert positions["B"].quantity == D("-1")


@pytest.mark.parametrize(("side", "qty"), [("hold", D("1")), ("buy", D("0")), ("buy", D("-1"))])
def test_bad_fills_are_refused(side, qty):
    with pytest.raises(ValueError):
        Position("X").apply(side, qty, D("1"))
