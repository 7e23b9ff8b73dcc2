import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.tradepulse.market.streams import next_item, next_tick
from tradepulse.market import (
    START_PRICES,
    PricePath,
    ProviderState,
    ProviderStatus,
    SimulatedProvider,
    Tick,
    start_price,
)

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def fake_clock():
    moments = (T0 + timedelta(milliseconds=i) for i in itertools.count())
    return lambda: next(moments)


async def collect_ticks(provider, count):
    ticks = []
    stream = provider.ticks()
    while len(ticks) < count:
        item = await next_item(stream)
        if isinstance(item, Tick):
            ticks.append(item)
    await provider.close()
    return ticks


def test_known_tickers_start_at_table_prices_and_unknown_ones_at_a_stable_price():
    assert start_price("AAPL") == START_PRICES["AAPL"]
    assert start_price("ZZZQ") == start_price("zzzq")
    assert 20 <= start_price("ZZZQ") < 520
    assert start_price("ZZZQ") != start_price("ZZZR")


def test_same_seed_gives_same_path_and_other_seed_differs():
    path1, path2, path3 = PricePath("AAPL", 7), PricePath("AAPL", 7), PricePath("AAPL", 8)
    seq1 = [path1.step(1.0) for _ in range(200)]
    assert seq1 == [path2.step(1.0) for _ in range(200)]
    assert seq1 != [path3.step(1.0) for _ in range(200)]


async def test_simulated_provider_is_reproducible_per_ticker_whatever_else_is_subscribed():
    alone = await collect_ticks(
        SimulatedProvider(["AAPL"], rate=1000, seed=42, clock=fake_clock()), 30
    )
    mixed = await collect_ticks(
        SimulatedProvider(["MSFT", "AAPL", "TSLA"], rate=1000, seed=42, clock=fake_clock()), 90
    )
    assert [t.price for t in alone] == [t.price for t in mixed if t.ticker == "AAPL"]


async def test_simulated_provider_uses_injected_clock_and_starts_connected():
    provider = SimulatedProvider(["AAPL"], rate=1000, seed=1, clock=fake_clock())
    stream = provider.ticks()
    status = await next_item(stream)
    assert isinstance(status, ProviderStatus) and status.state == ProviderState.CONNECTED
    first, second = await next_tick(stream), await next_tick(stream)
    assert (first.timestamp, second.timestamp) == (T0, T0 + timedelta(milliseconds=1))
    await provider.close()


def test_jumps_move_the_price_by_two_and_a_half_to_four_percent():
    # Diffusion switched off: every change is a jump.
    path = PricePath("AAPL", 3, volatility=0.0, jump_interval=5.0)
    moves = []
    previous = path.price
    for _ in range(2000):
        price = path.step(1.0)
        if price != pytest.approx(previous, rel=1e-12):
            moves.append(price / previous - 1)
        previous = price
    assert path.jumps == len(moves) > 100
    assert all(0.025 - 1e-12 <= abs(m) <= 0.04 + 1e-12 for m in moves)
    assert any(m > 0 for m in moves) and any(m < 0 for m in moves)


def test_default_jump_rate_gives_alert_sized_moves_every_few_minutes():
    provider = SimulatedProvider(["AAPL"], seed=5)
    path = provider.path("AAPL")
    for _ in range(3600):  # one simulated hour at one tick per second
        path.step(1.0)
    assert 8 <= path.jumps <= 40


async def test_subscription_changes_reach_the_running_stream():
    provider = SimulatedProvider([], rate=1000, seed=1)
    stream = provider.ticks()
    await next_item(stream)  # connected
    await provider.subscribe(["msft"])
    assert (await next_tick(stream)).ticker == "MSFT"
    await provider.subscribe(["AAPL"])
    await provider.unsubscribe(["MSFT"])
    assert provider.tickers == {"AAPL"}
    seen = {(await next_tick(stream)).ticker for _ in range(5)}
    assert seen == {"AAPL"}
    await provider.close()


async def test_close_ends_the_stream():
    provider = SimulatedProvider(["AAPL"], rate=100, seed=1)
    items = []
    async for item in provider.ticks():
        items.append(item)
        if len(items) == 3:
            await provider.close()
    assert len(items) == 3


def test_simulated_refuses_non_positive_rate():
    with pytest.raises(ValueError, match="rate"):
        SimulatedProvider(["AAPL"], rate=0)
