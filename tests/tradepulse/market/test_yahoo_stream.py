import json
from datetime import UTC, datetime

import pytest

from tests.tradepulse.market.streams import next_status, next_tick
from tests.tradepulse.market.yahoo_standin import YahooStandIn
from tradepulse.market import Backoff, ProviderState, Tick
from tradepulse.market.yahoo import YahooProvider, decode_pricing_message, encode_pricing_message

T0_MS = 1_737_383_400_123  # 2025-01-20T14:30:00.123Z
T0 = datetime(2025, 1, 20, 14, 30, 0, 123000, tzinfo=UTC)


def quick_provider(url, tickers=("AAPL",), **options):
    options.setdefault("backoff", Backoff(initial=0.05, maximum=0.2))
    return YahooProvider(tickers, url=url, mode="stream", **options)


def test_pricing_frame_decodes_to_a_tick_with_float32_noise_removed():
    frame = encode_pricing_message("AAPL", 189.12, T0_MS, last_size=300)
    assert decode_pricing_message(frame) == Tick("AAPL", 189.12, T0, 300.0)


def test_frames_of_other_types_are_ignored_and_garbage_is_refused():
    assert decode_pricing_message(json.dumps({"type": "heartbeat"})) is None
    with pytest.raises(ValueError):
        decode_pricing_message('{"type": "pricing", "message": "%%%"}')
    with pytest.raises(ValueError):
        decode_pricing_message("not json")


async def test_stream_subscribes_and_delivers_ticks():
    async with YahooStandIn() as yahoo:
        provider = quick_provider(yahoo.url, ["AAPL", "MSFT"])
        stream = provider.ticks()
        assert (await next_status(stream)).state == ProviderState.CONNECTED
        await yahoo.wait_for_subscription("MSFT")
        assert yahoo.connections[0].messages[0] == {"subscribe": ["AAPL", "MSFT"]}
        await yahoo.publish("AAPL", 189.12, T0_MS)
        assert await next_tick(stream) == Tick("AAPL", 189.12, T0)
        await provider.close()


async def test_dropped_connection_reconnects_resubscribes_and_ticks_continue():
    async with YahooStandIn() as yahoo:
        provider = quick_provider(yahoo.url)
        stream = provider.ticks()
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for_subscription("AAPL", 0)
        await yahoo.publish("AAPL", 189.12, T0_MS)
        assert (await next_tick(stream)).price == 189.12

        yahoo.drop_connections()
        reconnecting = await next_status(stream, ProviderState.RECONNECTING)
        assert "connection lost" in reconnecting.reason
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for_subscription("AAPL", 1)
        await yahoo.publish("AAPL", 190.5, T0_MS + 1000)
        tick = await next_tick(stream)
        assert (tick.price, tick.timestamp.second) == (190.5, 1)
        assert len(yahoo.connections) == 2 and provider.connections == 2
        await provider.close()


async def test_unreachable_server_is_retried_and_reported_without_ending_the_stream():
    async with YahooStandIn() as yahoo:
        url = yahoo.url
    # The stand-in is gone: nothing listens on that port any more.
    provider = quick_provider(url)
    stream = provider.ticks()
    first = await next_status(stream)
    second = await next_status(stream)
    assert first.state == second.state == ProviderState.RECONNECTING
    assert "cannot connect" in first.reason
    await provider.close()


async def test_silent_stream_is_reported_stale_and_replaced_by_the_watchdog():
    async with YahooStandIn() as yahoo:
        yahoo.silent = True
        provider = quick_provider(yahoo.url, silence_timeout=0.3)
        stream = provider.ticks()
        await next_status(stream, ProviderState.CONNECTED)
        stale = await next_status(stream)
        assert stale.state == ProviderState.STALE and "no data for 0.3 s" in stale.reason
        assert (await next_status(stream)).state == ProviderState.RECONNECTING
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for_subscription("AAPL", 1)
        yahoo.silent = False
        await yahoo.publish("AAPL", 101.0, T0_MS)
        assert (await next_tick(stream)).price == 101.0
        await provider.close()


async def test_subscription_changes_are_sent_on_the_open_connection():
    async with YahooStandIn() as yahoo:
        provider = quick_provider(yahoo.url)
        stream = provider.ticks()
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for_subscription("AAPL")
        await provider.subscribe(["msft"])
        await yahoo.wait_for_subscription("MSFT")
        await provider.unsubscribe(["AAPL"])
        await yahoo.wait_for(lambda: "AAPL" not in yahoo.connections[0].subscriptions)
        assert yahoo.connections[0].messages == [
            {"subscribe": ["AAPL"]},
            {"subscribe": ["MSFT"]},
            {"unsubscribe": ["AAPL"]},
        ]
        # Only subscribed symbols reach the stream, even if the server sends others.
        await yahoo.publish("MSFT", 420.0, T0_MS)
        assert (await next_tick(stream)).ticker == "MSFT"
        await provider.close()


async def test_subscription_is_resent_as_a_heartbeat():
    async with YahooStandIn() as yahoo:
        provider = quick_provider(yahoo.url, heartbeat_interval=0.05)
        stream = provider.ticks()
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for(lambda: len(yahoo.connections[0].messages) >= 3)
        assert all(m == {"subscribe": ["AAPL"]} for m in yahoo.connections[0].messages)
        await provider.close()


async def test_bad_frames_are_skipped_and_counted():
    async with YahooStandIn() as yahoo:
        provider = quick_provider(yahoo.url)
        stream = provider.ticks()
        await next_status(stream, ProviderState.CONNECTED)
        await yahoo.wait_for_subscription("AAPL")
        await yahoo.send_raw("this is not json")
        await yahoo.publish("AAPL", 150.25, T0_MS)
        assert (await next_tick(stream)).price == 150.25
        assert provider.bad_messages == 1
        await provider.close()
