import asyncio
from datetime import UTC, datetime

import pandas as pd
import pytest
import yfinance
from yfinance.exceptions import YFRateLimitError

from tests.tradepulse.market.streams import next_item, next_status, next_tick
from tradepulse.market import Backoff, ProviderState, ProviderStatus, Tick
from tradepulse.market.yahoo import YahooProvider

BAR = pd.Timestamp("2025-01-20 09:31:00", tz="America/New_York")


class FakeYahoo:
    """Stands in for yfinance.Ticker: one scripted answer (or exception) per request."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def ticker(self, symbol):
        fake = self

        class FakeTicker:
            def history(self, period, interval, **kwargs):
                fake.requests.append((symbol, period, interval))
                answer = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                if isinstance(answer, Exception):
                    raise answer
                return answer

        return FakeTicker()


def bars(*closes, start=BAR):
    index = pd.date_range(start, periods=len(closes), freq="1min")
    return pd.DataFrame({"Close": list(closes), "Volume": [100] * len(closes)}, index=index)


class RecordingSleep:
    def __init__(self):
        self.delays = []

    async def __call__(self, delay):
        self.delays.append(delay)
        await asyncio.sleep(0.001)


async def test_poll_mode_emits_the_last_one_minute_close_through_yfinance_ticker(monkeypatch):
    fake = FakeYahoo([bars(100.0, 101.25)])
    monkeypatch.setattr(yfinance, "Ticker", fake.ticker)
    provider = YahooProvider(["AAPL"], mode="poll", poll_interval=0.01)
    stream = provider.ticks()
    assert (await next_status(stream)).state == ProviderState.CONNECTED
    tick = await next_tick(stream)
    assert tick == Tick("AAPL", 101.25, datetime(2025, 1, 20, 14, 32, tzinfo=UTC))
    assert fake.requests[0] == ("AAPL", "1d", "1m")
    await provider.close()


async def test_polling_backs_off_on_rate_limit_and_recovers():
    fake = FakeYahoo([YFRateLimitError(), YFRateLimitError(), bars(50.0), bars(50.0)])
    sleep = RecordingSleep()
    provider = YahooProvider(
        ["AAPL"],
        mode="poll",
        poll_interval=60,
        rate_limit_backoff=Backoff(initial=30, maximum=900, jitter=0),
        ticker_factory=fake.ticker,
        sleep=sleep,
    )
    stream = provider.ticks()
    await next_status(stream, ProviderState.CONNECTED)
    first = await next_status(stream)
    second = await next_status(stream)
    assert first.state == second.state == ProviderState.STALE
    assert "rate limited" in first.reason and "30 s" in first.reason
    assert "60 s" in second.reason
    assert (await next_tick(stream)).price == 50.0
    recovered = await next_status(stream)
    assert recovered.state == ProviderState.CONNECTED
    await asyncio.sleep(0.05)
    await provider.close()
    # Waits: 30 and 60 after the two rate limits, then the normal poll interval.
    assert sleep.delays[:3] == [30, 60, 60]


async def test_repeated_identical_bar_is_not_emitted_twice():
    fake = FakeYahoo([bars(10.0), bars(10.0), bars(10.0, 10.5)])
    provider = YahooProvider(["AAPL"], mode="poll", poll_interval=0.01, ticker_factory=fake.ticker)
    stream = provider.ticks()
    first = await next_tick(stream)
    second = await next_tick(stream)
    assert (first.price, second.price) == (10.0, 10.5)
    assert len(fake.requests) >= 3
    await provider.close()


async def test_requests_for_several_symbols_are_spaced_by_the_minimum_interval():
    fake = FakeYahoo([bars(10.0)])
    sleep = RecordingSleep()
    provider = YahooProvider(
        ["AAPL", "MSFT", "TSLA"],
        mode="poll",
        poll_interval=60,
        min_request_interval=1.5,
        ticker_factory=fake.ticker,
        sleep=sleep,
    )
    stream = provider.ticks()
    symbols = {(await next_tick(stream)).ticker for _ in range(3)}
    await provider.close()
    assert symbols == {"AAPL", "MSFT", "TSLA"}
    assert sleep.delays[:3] == [1.5, 1.5, 60]


async def test_other_polling_failures_are_reported_and_retried():
    fake = FakeYahoo([ConnectionError("network down"), bars(20.0)])
    sleep = RecordingSleep()
    provider = YahooProvider(
        ["AAPL"], mode="poll", ticker_factory=fake.ticker, sleep=sleep, poll_interval=60
    )
    stream = provider.ticks()
    await next_status(stream, ProviderState.CONNECTED)
    failed = await next_status(stream)
    assert failed.state == ProviderState.STALE and "network down" in failed.reason
    assert (await next_tick(stream)).price == 20.0
    await provider.close()


async def test_auto_mode_polls_while_the_stream_is_unavailable():
    fake = FakeYahoo([bars(77.0)])
    provider = YahooProvider(
        ["AAPL"],
        url="ws://127.0.0.1:9/",  # nothing listens on the discard port
        mode="auto",
        fallback_after=0.1,
        poll_interval=0.05,
        backoff=Backoff(initial=0.05, maximum=0.1),
        ticker_factory=fake.ticker,
    )
    stream = provider.ticks()
    seen = []
    async with asyncio.timeout(5):
        while not any(isinstance(i, Tick) for i in seen):
            seen.append(await next_item(stream))
    await provider.close()
    states = [i.state for i in seen if isinstance(i, ProviderStatus)]
    assert ProviderState.RECONNECTING in states
    polling = [i for i in seen if isinstance(i, ProviderStatus) and i.state == ProviderState.STALE]
    assert polling and "polling" in polling[0].reason
    assert seen[-1].price == 77.0


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        YahooProvider(["AAPL"], mode="telepathy")
