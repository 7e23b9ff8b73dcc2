"""Market data: ticks, and the providers that stream them (simulated, replay, yahoo, websocket).

Typical use::

    provider = create_provider("simulated", tickers=["AAPL"], seed=1)
    async for item in provider.ticks():
        if isinstance(item, Tick):
            ...
        else:  # ProviderStatus
            ...
"""

from .backoff import Backoff
from .base import MarketDataProvider, StreamItem
from .factory import PROVIDER_NAMES, create_provider
from .replay import ReplayProvider, TickFileError, read_tick_csv
from .simulated import START_PRICES, PricePath, SimulatedProvider, start_price
from .ticks import (
    ProviderState,
    ProviderStatus,
    Tick,
    TickFormatError,
    parse_number,
    parse_ticker,
    parse_timestamp,
)

__all__ = [
    "PROVIDER_NAMES",
    "START_PRICES",
    "Backoff",
    "MarketDataProvider",
    "PricePath",
    "ProviderState",
    "ProviderStatus",
    "ReplayProvider",
    "SimulatedProvider",
    "StreamItem",
    "Tick",
    "TickFileError",
    "TickFormatError",
    "create_provider",
    "parse_number",
    "parse_ticker",
    "parse_timestamp",
    "read_tick_csv",
    "start_price",
]
