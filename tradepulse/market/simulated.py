"""Simulated prices: geometric Brownian motion per ticker with occasional jumps."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from tradepulse.symbols import normalize_ticker

from .base import MarketDataProvider
from .ticks import ProviderState, Tick

__all__ = ["START_PRICES", "PricePath", "SimulatedProvider", "start_price"]

# Rough early-2025 levels, so the monitor looks familiar.
START_PRICES: dict[str, float] = {
    "AAPL": 230.0,
    "MSFT": 420.0,
    "GOOGL": 190.0,
    "GOOG": 191.0,
    "AMZN": 225.0,
    "META": 610.0,
    "NVDA": 140.0,
    "TSLA": 410.0,
    "NFLX": 870.0,
    "AMD": 120.0,
    "INTC": 20.0,
    "IBM": 225.0,
    "ORCL": 170.0,
    "JPM": 250.0,
    "BAC": 46.0,
    "V": 315.0,
    "MA": 525.0,
    "WMT": 92.0,
    "KO": 63.0,
    "DIS": 112.0,
    "BRK-B": 460.0,
    "SPY": 595.0,
    "QQQ": 515.0,
    "BTC-USD": 100000.0,
    "ETH-USD": 3300.0,
}

# Seconds in a trading year (252 days of 6.5 hours): converts annual volatility to per-second.
_TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


def start_price(ticker: str) -> float:
    """The table price for common tickers; a stable pseudo-price in [20, 520) otherwise."""
    ticker = normalize_ticker(ticker)
    if ticker in START_PRICES:
        return START_PRICES[ticker]
    digest = hashlib.sha256(ticker.encode()).digest()
    return round(20 + int.from_bytes(digest[:4], "big") % 50_000 / 100, 2)


class PricePath:
    """The price process of one ticker: GBM diffusion plus rare multiplicative jumps.

    Contract: two paths built with the same ticker, seed and parameters return the same
    sequence from `step()` for the same sequence of `dt`. A jump moves the price by
    `jump_min..jump_max` (fractions, e.g. 0.025..0.04) up or down with equal odds; jumps
    arrive as a Poisson process with mean spacing `jump_interval` seconds.
    """

    def __init__(
        self,
        ticker: str,
        seed: int | str,
        *,
        volatility: float = 0.6,
        drift: float = 0.0,
        jump_interval: float = 180.0,
        jump_min: float = 0.025,
        jump_max: float = 0.04,
        price: float | None = None,
    ) -> None:
        self.ticker = normalize_ticker(ticker)
        self.price = price if price is not None else start_price(self.ticker)
        # Seeding by (seed, ticker) keeps each ticker's path independent of which other
        # tickers are subscribed and in what order.
        self._rng = random.Random(f"{seed}:{self.ticker}")
        self._sigma = volatility / math.sqrt(_TRADING_SECONDS_PER_YEAR)
        self._mu = drift / _TRADING_SECONDS_PER_YEAR
        self._jump_interval = jump_interval
        self._jump_min = jump_min
        self._jump_max = jump_max
        self.jumps = 0

    def step(self, dt: float) -> float:
        rng = self._rng
        z = rng.gauss(0.0, 1.0)
        self.price *= math.exp(
            (self._mu - 0.5 * self._sigma**2) * dt + self._sigma * math.sqrt(dt) * z
        )
        if self._jump_interval > 0 and rng.random() < -math.expm1(-dt / self._jump_interval):
            size = rng.uniform(self._jump_min, self._jump_max)
            self.price *= 1 + size if rng.random() < 0.5 else 1 - size
            self.jumps += 1
        return self.price


def _quote(price: float) -> float:
    # Cents for ordinary prices; sub-dollar prices keep four decimals.
    return round(price, 2) if price >= 1 else round(price, 4)


class SimulatedProvider(MarketDataProvider):
    """Simulated live prices for any ticker (the default provider; needs no network).

    Options: `rate` ticks per second per ticker; `seed` makes runs reproducible (same seed,
    same price sequence per ticker; None picks a random seed); `volatility` (annualised) and
    `drift`; `jump_interval` mean seconds between jumps per ticker (0 disables) with jump
    sizes `jump_min..jump_max` (fractions); `clock` returns the event time of each tick
    (default: now, UTC).
    """

    name = "simulated"

    def __init__(
        self,
        tickers: Iterable[str] = (),
        *,
        rate: float = 1.0,
        seed: int | str | None = None,
        volatility: float = 0.6,
        drift: float = 0.0,
        jump_interval: float = 180.0,
        jump_min: float = 0.025,
        jump_max: float = 0.04,
        clock: Callable[[], datetime] | None = None,
        **options: object,
    ) -> None:
        super().__init__(tickers, **options)  # type: ignore[arg-type]
        if rate <= 0:
            raise ValueError("rate must be positive (ticks per second per ticker)")
        if not 0 < jump_min <= jump_max < 1:
            raise ValueError("need 0 < jump_min <= jump_max < 1")
        self.rate = rate
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(8), "big")
        self._path_options = {
            "volatility": volatility,
            "drift": drift,
            "jump_interval": jump_interval,
            "jump_min": jump_min,
            "jump_max": jump_max,
        }
        self._clock = clock or (lambda: datetime.now(UTC))
        self._paths: dict[str, PricePath] = {}

    def path(self, ticker: str) -> PricePath:
        ticker = normalize_ticker(ticker)
        if ticker not in self._paths:
            self._paths[ticker] = PricePath(ticker, self.seed, **self._path_options)
        return self._paths[ticker]

    async def _produce(self) -> None:
        await self._status(ProviderState.CONNECTED, f"simulated prices at {self.rate:g} ticks/s")
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.rate
        next_at = loop.time()
        while True:
            if not self._tickers:
                await self._wait_for_subscription_change()
                next_at = loop.time()
                continue
            for ticker in sorted(self._tickers):
                price = self.path(ticker).step(interval)
                await self._emit(Tick(ticker, _quote(price), self._clock()))
            next_at += interval
            delay = next_at - loop.time()
            if delay < -1.0:
                # Far behind (a slow consumer): skip ahead instead of bursting to catch up.
                next_at = loop.time()
            await asyncio.sleep(max(delay, 0.0))
