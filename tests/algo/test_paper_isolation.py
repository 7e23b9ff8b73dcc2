"""One paper session's failure never stops the others: it is marked failed with its reason
and the other sessions keep getting ticks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from algo.models import PaperSession
from algo.paper import PaperSessionsSink
from tests.algo.test_paper_trading import PARAMS, expected_fills, feed, ledger_fills
from tests.tradepulse.paper_ticks import ticks_for_bars

pytestmark = pytest.mark.django_db(transaction=True)


def broken_sessions(owner):
    """Rows the engine refuses: the zero cash the API once stored for ``"1e-30"``, and a
    saved state that breaks on the next bar."""
    base = {"owner": owner, "ticker": "AAPL", "interval": "1m", "runner": "feed"}
    params = {"fast": 5, "slow": 20, "kind": "sma", "allow_short": False, "commission": 0.0}
    zero_cash = PaperSession.objects.create(**base, params=params, cash=Decimal(0))
    bad_state = PaperSession.objects.create(
        **base,
        params=params,
        cash=Decimal(10_000),
        state={
            "bar_count": 0,
            "current": [1],
            "last_tick_time": None,
            "last_price": None,
            "money": 10_000.0,
            "position": 0,
            "entry_price": 0.0,
            "last_target": 0,
        },
    )
    return zero_cash.pk, bad_state.pk


async def test_a_failing_session_is_marked_failed_and_the_others_keep_trading(api):
    good = await database_sync_to_async(
        lambda: api.post("/api/paper-sessions/", PARAMS, format="json").json()
    )()
    zero_cash, bad_state = await database_sync_to_async(broken_sessions)(api.user)
    ticks = ticks_for_bars(400, seed=5)

    sink = PaperSessionsSink()
    await sink.start()
    await feed(sink, ticks)
    await sink.stop()

    assert await database_sync_to_async(ledger_fills)(good["id"]) == expected_fills(ticks)
    rows = await database_sync_to_async(
        lambda: {s.pk: s for s in PaperSession.objects.filter(pk__in=[zero_cash, bad_state])}
    )()
    assert rows[zero_cash].status == "failed" and "cash" in rows[zero_cash].error
    assert rows[bad_state].status == "failed" and rows[bad_state].error.startswith("tick refused")
    assert rows[bad_state].stopped_at is not None

    detail = await database_sync_to_async(
        lambda: api.get(f"/api/paper-sessions/{zero_cash}/").json()
    )()
    assert detail["status"] == "failed" and "cash" in detail["error"]
    # A failed session stays failed when its owner stops it.
    stopped = await database_sync_to_async(
        lambda: api.delete(f"/api/paper-sessions/{zero_cash}/").json()
    )()
    assert stopped["status"] == "failed"
