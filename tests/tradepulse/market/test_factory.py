import pytest

from tradepulse.market import ReplayProvider, SimulatedProvider, create_provider
from tradepulse.market.websocket import WebSocketProvider


def test_factory_defaults_to_simulated_with_options():
    provider = create_provider(tickers=["AAPL"], rate=5, seed=3)
    assert isinstance(provider, SimulatedProvider)
    assert provider.rate == 5 and provider.tickers == {"AAPL"}


def test_factory_builds_each_provider_by_name(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\n")
    assert isinstance(create_provider("replay", path=csv), ReplayProvider)
    assert isinstance(create_provider("WebSocket", url="ws://127.0.0.1:9"), WebSocketProvider)
    yahoo = create_provider("yahoo", tickers=["AAPL"], url="ws://127.0.0.1:9", mode="stream")
    assert yahoo.name == "yahoo" and yahoo.url == "ws://127.0.0.1:9"


def test_factory_refuses_unknown_names_and_missing_replay_path():
    with pytest.raises(ValueError, match="unknown market data provider 'bloomberg'"):
        create_provider("bloomberg")
    with pytest.raises(ValueError, match="path"):
        create_provider("replay")


def test_streaming_providers_refuse_a_bad_url():
    with pytest.raises(ValueError, match="invalid WebSocket URL"):
        create_provider("websocket", url="http://example.com")
