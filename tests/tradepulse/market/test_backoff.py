import random

import pytest

from tradepulse.market import Backoff


def test_backoff_doubles_up_to_the_maximum_without_jitter():
    backoff = Backoff(initial=0.5, maximum=4.0, jitter=0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_reset_starts_over():
    backoff = Backoff(initial=1.0, maximum=10.0, jitter=0)
    backoff.next(), backoff.next()
    backoff.reset()
    assert backoff.next() == 1.0


def test_jittered_delays_stay_within_their_band_and_vary():
    backoff = Backoff(initial=1.0, maximum=8.0, jitter=0.5, rng=random.Random(3))
    delays = []
    for attempt in range(8):
        base = min(8.0, 2.0**attempt)
        delay = backoff.next()
        assert base * 0.5 <= delay <= base
        delays.append(delay / base)
    assert len(set(delays)) > 1


def test_backoff_refuses_nonsense_settings():
    with pytest.raises(ValueError):
        Backoff(initial=0)
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)
