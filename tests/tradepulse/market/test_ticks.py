import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tradepulse.market import Tick, TickFormatError
from tradepulse.symbols import normalize_ticker

WHEN = datetime(2025, 1, 20, 14, 30, 0, 123000, tzinfo=UTC)


def test_tick_serialises_to_the_documented_wire_format():
    tick = Tick("AAPL", 189.12, WHEN)
    assert json.loads(tick.to_json()) == {
        "ticker": "AAPL",
        "price": 189.12,
        "timestamp": "2025-01-20T14:30:00.123000+00:00",
    }


def test_tick_wire_round_trip_keeps_volume():
    tick = Tick("MSFT", 420.5, WHEN, volume=1200.0)
    assert Tick.from_json(tick.to_json()) == tick
    assert tick.to_wire()["volume"] == 1200.0


def test_tick_normalises_ticker_and_converts_offsets_to_utc():
    tick = Tick(" aapl ", 10, WHEN.astimezone(timezone(timedelta(hours=-5))))
    assert tick.ticker == "AAPL"
    assert tick.timestamp == WHEN and tick.timestamp.tzinfo == UTC
    assert isinstance(tick.price, float)


def test_tick_reads_timestamp_without_offset_as_utc():
    tick = Tick.from_wire({"ticker": "AAPL", "price": 1.5, "timestamp": "2025-01-20T14:30:00.123"})
    assert tick.timestamp == WHEN


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"price": 1, "timestamp": "2025-01-20T14:30:00"}, "ticker"),
        ({"ticker": "AAPL", "timestamp": "2025-01-20T14:30:00"}, "price"),
        ({"ticker": "AAPL", "price": 1}, "timestamp"),
        ({"ticker": "AAPL", "price": "1.0", "timestamp": "2025-01-20T14:30:00"}, "price"),
        ({"ticker": "AAPL", "price": -1, "timestamp": "2025-01-20T14:30:00"}, "price"),
        ({"ticker": "AAPL", "price": True, "timestamp": "2025-01-20T14:30:00"}, "price"),
        ({"ticker": "AAPL", "price": 1, "timestamp": "yesterday"}, "timestamp"),
        ({"ticker": "AA PL", "price": 1, "timestamp": "2025-01-20T14:30:00"}, "ticker"),
        (
            {"ticker": "AAPL", "price": 1, "timestamp": "2025-01-20T14:30:00", "volume": -3},
            "volume",
        ),
    ],
)
def test_bad_wire_tick_is_refused_naming_the_field(payload, field):
    with pytest.raises(TickFormatError, match=field):
        Tick.from_wire(payload)


def test_non_finite_price_is_refused():
    with pytest.raises(TickFormatError, match="finite"):
        Tick("AAPL", float("nan"), WHEN)


def test_from_json_refuses_non_json():
    with pytest.raises(TickFormatError, match="not JSON"):
        Tick.from_json("{nope")


@pytest.mark.parametrize("symbol", ["BRK-B", "^GSPC", "EURUSD=X", "ES=F", "BTC-USD", "rds.a"])
def test_yahoo_style_symbols_are_valid_tickers(symbol):
    assert normalize_ticker(symbol) == symbol.upper()
