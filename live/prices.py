"""The price board: the latest price of every ticker the feed streams, as the feed publishes
it (written about once a second), for readers outside the tick path such as positions.

Two boards, one per mode: :class:`LocalPriceBoard` (process memory) when the feed runs inside
the web process, :class:`RedisPriceBoard` (one Redis hash) when it runs on its own. Read them
through :func:`live.selectors.last_price`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Protocol

from tradepulse.timeutil import format_timestamp

logger = logging.getLogger(__name__)

PRICES_KEY = "tradepulse:live:prices"
# A price nobody refreshed for this long (no feed streams its ticker any more) disappears.
PRICES_TTL_SECONDS = 24 * 3600

Prices = dict[str, tuple[float, datetime]]


class PriceBoard(Protocol):
    async def record(self, prices: Prices) -> None: ...


_local: dict[str, tuple[float, datetime]] = {}


class LocalPriceBoard:
    async def record(self, prices: Prices) -> None:
        _local.update(prices)


def local_price(ticker: str) -> float | None:
    entry = _local.get(ticker)
    return entry[0] if entry is not None else None


class RedisPriceBoard:
    def __init__(self, redis) -> None:
        self.redis = redis

    async def record(self, prices: Prices) -> None:
        if not prices:
            return
        mapping = {
            ticker: json.dumps({"price": price, "timestamp": format_timestamp(ts)})
            for ticker, (price, ts) in prices.items()
        }
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(PRICES_KEY, mapping=mapping)
            pipe.expire(PRICES_KEY, PRICES_TTL_SECONDS)
            await pipe.execute()


def redis_price(redis, ticker: str) -> float | None:
    raw = redis.hget(PRICES_KEY, ticker)
    if raw is None:
        return None
    return float(json.loads(raw)["price"])
