"""The daily trade analysis: per-ticker and overall figures of one day's trade CSV.

The result is a JSON-ready dict; every money or quantity figure is an exact decimal written as
a string (``format_decimal``: plain notation, no trailing zeros). Layout::

    {
      "version": 1,
      "date": "2025-01-20",
      "row_count": 3,
      "tickers": {                      # sorted by ticker
        "AAPL": {
          "trade_count": 2,
          "buy_quantity": "10", "sell_quantity": "4", "net_quantity": "6",
          "buy_notional": "1872.5", "sell_notional": "750",
          "vwap": "187.32142857",      # rounded half-even to VWAP_PLACES places
          "first_price": "187.25", "last_price": "187.5",
          "low_price": "187.25", "high_price": "187.5",
          "first_timestamp": "2025-01-20T14:30:00.000000Z",
          "last_timestamp": "2025-01-20T15:00:00.000000Z"
        }
      },
      "totals": {
        "trade_count": 2, "ticker_count": 1,
        "buy_quantity": "10", "sell_quantity": "4", "net_quantity": "6",
        "buy_notional": "1872.5", "sell_notional": "750"
      }
    }

First and last are by timestamp; trades with the same timestamp are ordered by trade id
(numerically when both ids are integers).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

from tradepulse.analysis.schema import (
    MalformedRow,
    check_header,
    format_decimal,
    format_timestamp,
    validate_fields,
)

RESULT_VERSION = 1
VWAP_PLACES = 8

_INFINITY = Decimal("Infinity")
_ZERO = Decimal(0)
_VWAP_QUANTUM = Decimal(1).scaleb(-VWAP_PLACES)
# Sums and products of the CSV's decimals must stay exact: a figure that would need more
# digits than this is reported as a bad row rather than silently rounded.
_EXACT = Context(prec=100, traps=[InvalidOperation, Inexact])


def _id_order(trade_id: str) -> tuple[int, int | str]:
    """Sort key putting integer ids in numeric order (``9`` before ``10``)."""
    return (0, int(trade_id)) if trade_id.isdigit() else (1, trade_id)


class _TickerTotals:
    """Running figures for one ticker; `first_*`/`last_*` track the extreme trades."""

    __slots__ = (
        "trade_count",
        "buy_quantity",
        "sell_quantity",
        "buy_notional",
        "sell_notional",
        "low",
        "high",
        "first_at",
        "first_id",
        "first_price",
        "last_at",
        "last_id",
        "last_price",
    )

    def __init__(self, trade_id: str, price: Decimal, at: datetime) -> None:
        self.trade_count = 0
        self.buy_quantity = self.sell_quantity = _ZERO
        self.buy_notional = self.sell_notional = _ZERO
        self.low = self.high = price
        self.first_at = self.last_at = at
        self.first_id = self.last_id = trade_id
        self.first_price = self.last_price = price

    def as_json(self) -> dict[str, Any]:
        quantity = self.buy_quantity + self.sell_quantity
        notional = self.buy_notional + self.sell_notional
        vwap = (notional / quantity).quantize(_VWAP_QUANTUM, rounding=ROUND_HALF_EVEN)
        return {
            "trade_count": self.trade_count,
            "buy_quantity": format_decimal(self.buy_quantity),
            "sell_quantity": format_decimal(self.sell_quantity),
            "net_quantity": format_decimal(self.buy_quantity - self.sell_quantity),
            "buy_notional": format_decimal(self.buy_notional),
            "sell_notional": format_decimal(self.sell_notional),
            "vwap": format_decimal(vwap),
            "first_price": format_decimal(self.first_price),
            "last_price": format_decimal(self.last_price),
            "low_price": format_decimal(self.low),
            "high_price": format_decimal(self.high),
            "first_timestamp": format_timestamp(self.first_at),
            "last_timestamp": format_timestamp(self.last_at),
        }


def analyse(lines: Iterable[str], day: date | str) -> dict[str, Any]:
    """Analyse one day's trade CSV, streaming: memory grows with the number of tickers only.

    ``lines`` is any iterable of text lines (an open text file, ``io.StringIO``, a list), the
    header first. ``day`` is the date the file belongs to; it is copied into the result (rows
    are not checked against it). Raises ``BadHeader`` or ``MalformedRow`` (a ``ValueError``)
    naming the first bad line and field; nothing is returned for a partly bad file.
    """
    day_text = day if isinstance(day, str) else day.isoformat()
    reader = csv.reader(lines)
    totals: dict[str, _TickerTotals] = {}
    row_count = 0
    fromisoformat = datetime.fromisoformat
    row: list[str] = []
    try:
        with localcontext(_EXACT):
            check_header(next(reader, None))
            for row in reader:
                # Fast path with just enough checks to be correct; any doubt goes to
                # `validate_fields`, which raises the precise error.
                try:
                    trade_id, _user, ticker, side, price_text, quantity_text, at_text = row
                    price = Decimal(price_text)
                    quantity = Decimal(quantity_text)
                    if not (
                        0 < price < _INFINITY
                        and 0 < quantity < _INFINITY
                        and trade_id
                        and _user
                        and ticker
                        and len(at_text) >= 16
                    ):
                        raise ValueError
                    at = fromisoformat(at_text)
                except (ValueError, InvalidOperation):
                    if not row:
                        continue
                    validate_fields(row, reader.line_num)
                    raise
                if at.tzinfo is None:
                    at = at.replace(tzinfo=UTC)

                stats = totals.get(ticker)
                if stats is None:
                    stats = totals[ticker] = _TickerTotals(trade_id, price, at)
                if side == "buy":
                    stats.buy_quantity += quantity
                    stats.buy_notional += price * quantity
                elif side == "sell":
                    stats.sell_quantity += quantity
                    stats.sell_notional += price * quantity
                else:
                    validate_fields(row, reader.line_num)
                stats.trade_count += 1
                row_count += 1

                if price < stats.low:
                    stats.low = price
                elif price > stats.high:
                    stats.high = price
                if at < stats.first_at or (
                    at == stats.first_at and _id_order(trade_id) < _id_order(stats.first_id)
                ):
                    stats.first_at, stats.first_id, stats.first_price = at, trade_id, price
                if at > stats.last_at or (
                    at == stats.last_at and _id_order(trade_id) > _id_order(stats.last_id)
                ):
                    stats.last_at, stats.last_id, stats.last_price = at, trade_id, price
    except Inexact:
        raise MalformedRow(
            reader.line_num, "a number has more digits than the analysis keeps exactly"
        ) from None
    except UnicodeDecodeError:
        raise MalformedRow(reader.line_num + 1, "the text is not valid UTF-8") from None
    except csv.Error as error:
        raise MalformedRow(reader.line_num, f"unreadable CSV: {error}") from None

    return _result(day_text, row_count, totals)


def _result(day: str, row_count: int, totals: dict[str, _TickerTotals]) -> dict[str, Any]:
    with localcontext(_EXACT) as context:
        context.traps[Inexact] = False
        tickers = {ticker: totals[ticker].as_json() for ticker in sorted(totals)}
        buy_quantity = sum((t.buy_quantity for t in totals.values()), _ZERO)
        sell_quantity = sum((t.sell_quantity for t in totals.values()), _ZERO)
        buy_notional = sum((t.buy_notional for t in totals.values()), _ZERO)
        sell_notional = sum((t.sell_notional for t in totals.values()), _ZERO)
    return {
        "version": RESULT_VERSION,
        "date": day,
        "row_count": row_count,
        "tickers": tickers,
        "totals": {
            "trade_count": row_count,
            "ticker_count": len(totals),
            "buy_quantity": format_decimal(buy_quantity),
            "sell_quantity": format_decimal(sell_quantity),
            "net_quantity": format_decimal(buy_quantity - sell_quantity),
            "buy_notional": format_decimal(buy_notional),
            "sell_notional": format_decimal(sell_notional),
        },
    }
