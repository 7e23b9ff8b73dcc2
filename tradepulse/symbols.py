"""Ticker symbols: one normalisation and one validity rule for the whole system
(:func:`normalize_ticker`, used by the ledger, the live feed, the engine and the APIs)."""

from __future__ import annotations

import re
from functools import lru_cache

MAX_TICKER_LENGTH = 20

# Plain symbols (AAPL), share classes (BRK.B), indices (^GSPC), currencies and futures
# (EURUSD=X, GC=F) and crypto pairs (BTC-USD): letters and digits in parts joined by
# '.' or '-', an optional leading '^' and an optional '=' suffix.
_TICKER_RE = re.compile(r"^\^?[A-Z0-9]{1,12}(?:[.\-][A-Z0-9]{1,12})*(?:=[A-Z]{1,3})?$")


class InvalidTicker(ValueError):
    """Raised when a string does not look like a market symbol."""

    status_code = 400  # how an HTTP API answers it (read by ``api.errors``)

    def as_body(self) -> dict[str, list[str]]:
        return {"ticker": [str(self)]}


def normalize_ticker(value: object) -> str:
    """Return ``value`` upper-cased and stripped if it looks like a real symbol.

    Raises :class:`InvalidTicker` with a message fit for an API error otherwise.
    """
    if not isinstance(value, str):
        raise InvalidTicker("Ticker must be a string.")
    return _normalise(value)


# A ledger holds few distinct symbols and bulk input repeats them: remember the valid ones.
@lru_cache(maxsize=4096)
def _normalise(value: str) -> str:
    ticker = value.strip().upper()
    if not ticker:
        raise InvalidTicker("Ticker may not be blank.")
    if len(ticker) > MAX_TICKER_LENGTH:
        raise InvalidTicker(f"Ticker may have at most {MAX_TICKER_LENGTH} characters.")
    # ASCII before upper-casing: "ſ".upper() is "S", and the rule is about ASCII symbols.
    if not value.isascii() or not _TICKER_RE.match(ticker):
        raise InvalidTicker(
            f"'{value}' is not a valid ticker symbol (examples: AAPL, BRK.B, ^GSPC, EURUSD=X, BTC-USD)."
        )
    return ticker


def is_valid_ticker(value: object) -> bool:
    try:
        normalize_ticker(value)
    except InvalidTicker:
        return False
    return True
