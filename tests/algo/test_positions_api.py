"""GET /api/positions/: FIFO figures from the ledger, as Decimal strings, per user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.services import trade_create

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 2, 3, 15, 0, tzinfo=UTC)


def trade(owner, ticker, side, price, quantity, minutes):
    return trade_create(
        owner=owner,
        data={
            "ticker": ticker,
            "side": side,
            "price": price,
            "quantity": quantity,
            "timestamp": T0 + timedelta(minutes=minutes),
        },
    )


def by_ticker(response):
    assert response.status_code == 200, response.json()
    return {row["ticker"]: row for row in response.json()["results"]}


def test_fifo_figures_match_the_hand_worked_example(api, user):
    # Bought 10 @ 100 and 10 @ 110, sold 15 @ 120: realised 10*20 + 5*10 = 250,
    # left 5 @ 110; last trade price 120 -> value 600, unrealised 50.
    trade(user, "AAPL", "buy", "100", "10", 0)
    trade(user, "AAPL", "buy", "110", "10", 1)
    trade(user, "AAPL", "sell", "120", "15", 2)
    row = by_ticker(api.get("/api/positions/"))["AAPL"]
    assert row == {
        "ticker": "AAPL",
        "quantity": "5",
        "average_cost": "110",
        "realized_pnl": "250",
        "last_price": "120",
        "price_source": "last_trade",
        "market_value": "600",
        "unrealized_pnl": "50",
    }


def test_trades_apply_in_time_order_not_insertion_order(api, user):
    trade(user, "X", "sell", "12", "1", 5)  # entered late, happened last
    trade(user, "X", "buy", "10", "2", 0)
    row = by_ticker(api.get("/api/positions/"))["X"]
    assert (row["quantity"], row["average_cost"], row["realized_pnl"]) == ("1", "10", "2")


def test_selling_more_than_held_shows_a_short(api, user):
    # Long 5 @ 100, sell 8 @ 90: realised -50, short 3 @ 90; marked at 90 -> value -270.
    trade(user, "TSLA", "buy", "100", "5", 0)
    trade(user, "TSLA", "sell", "90", "8", 1)
    row = by_ticker(api.get("/api/positions/"))["TSLA"]
    assert row["quantity"] == "-3" and row["average_cost"] == "90"
    assert row["realized_pnl"] == "-50"
    assert row["market_value"] == "-270" and row["unrealized_pnl"] == "0"


def _feed_published(prices):
    """What the in-process feed writes on its price board about once a second."""
    import asyncio
    from datetime import UTC, datetime

    from live.prices import LocalPriceBoard

    now = datetime.now(UTC)
    asyncio.run(LocalPriceBoard().record({t: (p, now) for t, p in prices.items()}))


def test_a_live_price_is_used_when_the_feed_has_one(api, user, monkeypatch):
    monkeypatch.setattr("live.prices._local", {})
    trade(user, "NVDA", "buy", "100.5", "2", 0)
    _feed_published({"NVDA": 103.25})
    row = by_ticker(api.get("/api/positions/"))["NVDA"]
    assert row["price_source"] == "live" and row["last_price"] == "103.25"
    assert row["market_value"] == "206.5" and row["unrealized_pnl"] == "5.5"


@pytest.mark.redis
def test_the_feed_price_comes_from_redis_in_the_scaled_mode(api, user, settings):
    import asyncio
    from datetime import UTC, datetime

    import redis.asyncio

    from live.prices import PRICES_KEY, RedisPriceBoard
    from tests.conftest import redis_url

    settings.FEED_IN_PROCESS = False
    settings.REDIS_URL = redis_url()

    async def feed_process_writes():  # as run_feed does, from its own process
        client = redis.asyncio.Redis.from_url(redis_url())
        await client.delete(PRICES_KEY)
        await RedisPriceBoard(client).record({"AMD": (99.5, datetime.now(UTC))})
        await client.aclose()

    asyncio.run(feed_process_writes())
    trade(user, "AMD", "buy", "100", "1", 0)
    row = by_ticker(api.get("/api/positions/"))["AMD"]
    assert (row["price_source"], row["last_price"], row["unrealized_pnl"]) == (
        "live",
        "99.5",
        "-0.5",
    )


def test_flat_tickers_are_listed_only_on_request(api, user):
    trade(user, "A", "buy", "1.1", "0.5", 0)
    trade(user, "A", "sell", "1.3", "0.5", 1)
    assert api.get("/api/positions/").json()["results"] == []
    row = by_ticker(api.get("/api/positions/?include_closed=true"))["A"]
    assert row["quantity"] == "0" and row["realized_pnl"] == "0.1"
    assert row["average_cost"] is None and row["unrealized_pnl"] == "0"


def test_only_the_users_own_trades_count(api, other_api, user, other_user):
    trade(user, "AAPL", "buy", "100", "1", 0)
    trade(other_user, "AAPL", "buy", "50", "7", 0)
    assert by_ticker(api.get("/api/positions/"))["AAPL"]["quantity"] == "1"
    assert by_ticker(other_api.get("/api/positions/"))["AAPL"]["quantity"] == "7"
    assert set(by_ticker(api.get("/api/positions/?ticker=aapl"))) == {"AAPL"}
    assert by_ticker(api.get("/api/positions/?ticker=MSFT")) == {}


@pytest.mark.parametrize(
    ("query", "field"), [("ticker=%24%24", "ticker"), ("include_closed=x", "include_closed")]
)
def test_bad_query_parameters_are_a_400_naming_them(api, query, field):
    response = api.get(f"/api/positions/?{query}")
    assert response.status_code == 400 and list(response.json()) == [field]


def test_anonymous_is_refused(anon):
    assert anon.get("/api/positions/").status_code in (401, 403)


def test_quantities_are_exact_decimals(api, user):
    for i in range(10):
        trade(user, "BTC-USD", "buy", "0.1", "0.1", i)
    row = by_ticker(api.get("/api/positions/"))["BTC-USD"]
    assert Decimal(row["quantity"]) == Decimal("1") and row["average_cost"] == "0.1"
