"""Choosing a market data provider by name."""

from __future__ import annotations

from typing import Any

from .base import MarketDataProvider

__all__ = ["PROVIDER_NAMES", "create_provider"]

PROVIDER_NAMES = ("simulated", "replay", "yahoo", "websocket")


def create_provider(name: str = "simulated", **options: Any) -> MarketDataProvider:
    """Build the provider called `name` with its keyword options.

    - `simulated`: tickers, rate, seed, volatility, drift, jump_interval, jump_min,
      jump_max, clock (see `SimulatedProvider`).
    - `replay`: path (required), tickers, speed, loop, rebase (see `ReplayProvider`).
    - `yahoo`: tickers, url, mode, silence_timeout, heartbeat_interval, fallback_after,
      poll_interval, min_request_interval (see `YahooProvider`).
    - `websocket`: url, tickers, silence_timeout, open_timeout (see `WebSocketProvider`).

    Raises ValueError for an unknown name or a bad option value, TypeError for an option the
    provider does not take. Providers are imported on demand so that the default needs
    neither yfinance nor pandas.
    """
    key = (name or "simulated").strip().lower()
    if key == "simulated":
        from .simulated import SimulatedProvider

        return SimulatedProvider(**options)
    if key == "replay":
        from .replay import ReplayProvider

        if "path" not in options:
            raise ValueError("the replay provider needs a path option (a tick CSV file)")
        return ReplayProvider(**options)
    if key == "yahoo":
        from .yahoo import YahooProvider

        return YahooProvider(**options)
    if key == "websocket":
        from .websocket import WebSocketProvider

        return WebSocketProvider(**options)
    raise ValueError(
        f"unknown market data provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}"
    )
