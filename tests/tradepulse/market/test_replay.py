import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.tradepulse.market.streams import next_item
from tradepulse.market import ProviderState, ReplayProvider, Tick, TickFileError, read_tick_csv

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def write_csv(tmp_path, text, name="ticks.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def recorded(tmp_path):
    # Three ticks 0.2 s apart in recorded time.
    return write_csv(
        tmp_path,
        "ticker,timestamp,price,volume\n"
        "AAPL,2025-01-20T14:30:00+00:00,100.0,10\n"
        "MSFT,2025-01-20T14:30:00.200+00:00,400.0,\n"
        "AAPL,2025-01-20T14:30:00.400+00:00,101.5,5\n",
    )


async def replay_all(provider):
    """Every tick with the event-loop time it arrived at, measured from before the start."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    arrivals = []
    async with asyncio.timeout(10):
        async for item in provider.ticks():
            if isinstance(item, Tick):
                arrivals.append((loop.time() - begin, item))
    return arrivals


def test_read_tick_csv_reads_rows_with_optional_volume(recorded):
    ticks = list(read_tick_csv(recorded))
    assert ticks == [
        Tick("AAPL", 100.0, T0, 10.0),
        Tick("MSFT", 400.0, T0 + timedelta(milliseconds=200)),
        Tick("AAPL", 101.5, T0 + timedelta(milliseconds=400), 5.0),
    ]


def test_read_tick_csv_accepts_columns_in_any_order(tmp_path):
    path = write_csv(tmp_path, "price,ticker,timestamp\n12.5,aapl,2025-01-20 14:30:00\n")
    assert list(read_tick_csv(path)) == [Tick("AAPL", 12.5, T0)]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\nAAPL,2025-01-20T14:31:00,abc\n",
            3,
            "price 'abc'",
        ),
        ("ticker,timestamp,price\nAAPL,not-a-time,1\n", 2, "timestamp"),
        ("ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,-4\n", 2, "positive"),
        ("ticker,timestamp,price\nAAPL,2025-01-20T14:30:00\n", 2, "expected 3 fields"),
        ("ticker,time,price\nAAPL,2025-01-20T14:30:00,1\n", 1, "timestamp"),
        ("", 1, "empty"),
    ],
)
def test_bad_tick_file_raises_naming_the_line(tmp_path, text, line, problem):
    path = write_csv(tmp_path, text)
    with pytest.raises(TickFileError, match=problem) as caught:
        list(read_tick_csv(path))
    assert caught.value.line == line
    assert f"line {line}" in str(caught.value)


def test_missing_file_raises_tick_file_error(tmp_path):
    with pytest.raises(TickFileError, match="No such file"):
        list(read_tick_csv(tmp_path / "missing.csv"))


def test_replay_provider_checks_the_whole_file_when_built(tmp_path):
    path = write_csv(tmp_path, "ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,1\nAAPL,x,2\n")
    with pytest.raises(TickFileError, match="line 3"):
        ReplayProvider(path)


async def test_replay_at_full_speed_emits_every_tick_then_ends(recorded):
    provider = ReplayProvider(recorded, speed=0)
    arrivals = await replay_all(provider)
    assert [tick for _, tick in arrivals] == list(read_tick_csv(recorded))
    assert provider.file_tickers == {"AAPL", "MSFT"}


class FakeTime:
    """A clock that only moves when the replay sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    async def sleep(self, delay):
        self.sleeps.append(delay)
        self.now += delay


async def paced_waits(recorded, speed):
    """The waits the replay asked for between ticks (the queue lets it run ahead)."""
    clock = FakeTime()
    provider = ReplayProvider(recorded, speed=speed, sleep=clock.sleep, monotonic=clock.monotonic)
    ticks = [item async for item in provider.ticks() if isinstance(item, Tick)]
    assert len(ticks) == 3
    return clock.sleeps


async def test_replay_at_recorded_pace_waits_the_recorded_gaps(recorded):
    assert await paced_waits(recorded, speed=1) == pytest.approx([0.2, 0.2])


async def test_replay_speed_factor_divides_the_recorded_offsets(recorded):
    assert await paced_waits(recorded, speed=4) == pytest.approx([0.05, 0.05])
    assert await paced_waits(recorded, speed=0.5) == pytest.approx([0.4, 0.4])
    assert await paced_waits(recorded, speed=0) == []


async def test_replay_keeps_real_pace_on_the_event_loop_clock(recorded):
    arrivals = await replay_all(ReplayProvider(recorded, speed=2))
    # A sleep never ends early, so no tick arrives before its offset (0, 0.1, 0.2 s).
    assert all(
        arrived >= offset - 0.005
        for (arrived, _), offset in zip(arrivals, [0, 0.1, 0.2], strict=True)
    )


async def test_replay_filters_to_the_subscription_and_empty_means_all(recorded):
    only_aapl = await replay_all(ReplayProvider(recorded, ["AAPL"], speed=0))
    assert {tick.ticker for _, tick in only_aapl} == {"AAPL"}
    everything = await replay_all(ReplayProvider(recorded, speed=0))
    assert len(everything) == 3


async def test_looped_replay_keeps_timestamps_increasing(recorded):
    provider = ReplayProvider(recorded, ["AAPL"], speed=0, loop=True)
    stream = provider.ticks()
    ticks = []
    while len(ticks) < 6:
        item = await next_item(stream)
        if isinstance(item, Tick):
            ticks.append(item)
    await provider.close()
    times = [t.timestamp for t in ticks]
    assert times == sorted(times) and len(set(times)) == 6
    assert [t.price for t in ticks] == [100.0, 101.5] * 3


async def test_rebased_replay_stamps_ticks_from_now(recorded):
    before = datetime.now(UTC)
    arrivals = await replay_all(ReplayProvider(recorded, speed=0, rebase=True))
    first, last = arrivals[0][1], arrivals[-1][1]
    assert first.timestamp >= before
    assert last.timestamp - first.timestamp == timedelta(milliseconds=400)


async def test_replay_reports_connected_first(recorded):
    provider = ReplayProvider(recorded, speed=0)
    first = await next_item(provider.ticks())
    assert first.state == ProviderState.CONNECTED and "3 ticks" in first.reason
    await provider.close()
