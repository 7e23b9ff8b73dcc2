"""What the feed remembers of one ticker, for tick messages and snapshots."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from tradepulse.market import Tick
from tradepulse.timeutil import format_timestamp

HISTORY_SECONDS = 300
RECENT_ALERTS = 20


class TickerState:
    """Last price, change since the UTC day's first price, moving average, the last 5 minutes
    of prices at one point per second, and the recent alerts of one ticker."""

    __slots__ = (
        "alerts",
        "day",
        "dirty",
        "history",
        "last_published",
        "moving_average",
        "open_price",
        "price",
        "ticker",
        "timestamp",
        "volume",
    )

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.price: float | None = None
        self.timestamp: datetime | None = None
        self.volume: float | None = None
        self.moving_average: float | None = None
        self.day: int | None = None
        self.open_price: float | None = None
        # [epoch second, price]: the last price of each second, 5 minutes of them.
        self.history: deque[list[float]] = deque()
        # (owners or None for the global rule, alert message)
        self.alerts: deque[tuple[frozenset[int] | None, dict[str, Any]]] = deque(
            maxlen=RECENT_ALERTS
        )
        self.dirty = False
        self.last_published = -1e18

    def update(self, tick: Tick) -> None:
        ts = tick.timestamp
        day = ts.toordinal()
        if day != self.day:
            # change_pct is measured from the first price of the UTC day.
            self.day = day
            self.open_price = tick.price
        self.price = tick.price
        self.timestamp = ts
        self.volume = tick.volume
        second = int(ts.timestamp())
        history = self.history
        if history and history[-1][0] == second:
            history[-1][1] = tick.price
        elif not history or second > history[-1][0]:
            history.append([second, tick.price])
            cutoff = second - HISTORY_SECONDS
            while history[0][0] < cutoff:
                history.popleft()

    @property
    def change_pct(self) -> float | None:
        if self.price is None or not self.open_price:
            return None
        return (self.price / self.open_price - 1.0) * 100.0

    def tick_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "tick",
            "ticker": self.ticker,
            "price": self.price,
            "change_pct": self.change_pct,
            "moving_average": self.moving_average,
            "timestamp": format_timestamp(self.timestamp) if self.timestamp else None,
        }
        if self.volume is not None:
            message["volume"] = self.volume
        return message

    def snapshot(self, seq: int, status: dict[str, Any] | None) -> dict[str, Any]:
        data = self.tick_message()
        del data["type"]
        data["seq"] = seq
        data["history"] = [{"time": int(s), "price": p} for s, p in self.history]
        data["alerts"] = [
            {"users": sorted(owners) if owners is not None else None, "alert": alert}
            for owners, alert in self.alerts
        ]
        data["status"] = status
        return data
