"""The trade list's PostgreSQL page query gives what the ORM path gives, text for text."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.pagination import KeysetPagination
from ledger.api.filters import TradeFilter
from ledger.models import Trade
from ledger.representation import trade_row, wire_values
from ledger.selectors import trade_page, trade_queryset
from tests.ledger.helpers import add_trade

pytestmark = pytest.mark.postgres


def test_database_writes_timestamps_and_decimals_as_python_does(user):
    cases = [
        ("100", "1", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("100.50000000", "0.00000001", datetime(2025, 1, 15, 14, 30, 0, 1, tzinfo=UTC)),
        ("123456789.123456", "2.5", datetime(2025, 1, 15, 23, 59, 59, 999999, tzinfo=UTC)),
        ("999999999999.99999999", "10", datetime(1970, 1, 1, tzinfo=UTC)),
        ("0.1", "1000", datetime(2024, 2, 29, 0, 0, 0, 500000, tzinfo=UTC)),
    ]
    for price, quantity, timestamp in cases:
        add_trade(user, price=price, quantity=quantity, timestamp=timestamp)
    queryset = trade_queryset(owner=user).order_by("id")
    from_database = [trade_row(row) for row in wire_values(queryset)]
    from_python = [trade_row(trade) for trade in queryset]
    assert from_database == from_python
    assert from_database[1]["timestamp"] == "2025-01-15T14:30:00.000001Z"
    assert from_database[1]["price"] == "100.5"


def _page(owner, params, via_sql):
    request = Request(APIRequestFactory().get("/api/trades/", params))
    filters = TradeFilter(request.query_params, queryset=trade_queryset(owner=owner))
    assert filters.is_valid(), filters.errors
    paginator = KeysetPagination()
    if via_sql:
        fetch = partial(trade_page, owner=owner, lookups=filters.lookups())
        rows = [json.loads(r) for r in paginator.paginate(fetch, request)]
    else:
        rows = [trade_row(r) for r in paginator.paginate_queryset(wire_values(filters.qs), request)]
    return rows, paginator._next, paginator._prev


def test_page_query_matches_the_orm_for_every_filter_and_direction(user, other_user):
    rng = random.Random(3)
    start = datetime(2025, 1, 15, tzinfo=UTC)
    for _ in range(120):
        # Several trades share a timestamp, so the id decides their order.
        moment = start + timedelta(minutes=rng.randint(0, 600), microseconds=rng.choice([0, 7]))
        add_trade(
            rng.choice([user, user, other_user]),
            ticker=rng.choice(["AAPL", "MSFT", "BRK.B"]),
            side=rng.choice(["buy", "sell"]),
            price=f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}",
            timestamp=moment,
        )
    # And trades exactly on the filters' bounds.
    for moment in ("2025-01-16T00:00:00Z", "2025-01-15T03:00:00Z", "2025-01-15T06:30:00Z"):
        add_trade(user, ticker="MSFT", side="sell", timestamp=moment)
    assert Trade.objects.count() == 123
    filters = [
        {},
        {"ticker": "msft"},
        {"side": "SELL", "ticker": "brk.b"},
        {"start_date": "2025-01-15T03:00:00Z"},
        {"end_date": "2025-01-15"},
        {"end_date": "2025-01-15T06:30:00Z"},
        {"start_date": "2025-01-15T02:00:00", "end_date": "2025-01-15T07:30:00+01:00"},
    ]
    for params in filters:
        for size in ("7", "100"):
            query = {**params, "page_size": size}
            seen_sql, seen_orm = [], []
            for via_sql, seen in ((True, seen_sql), (False, seen_orm)):
                cursor_query = dict(query)
                while True:
                    rows, next_token, _ = _page(user, cursor_query, via_sql)
                    seen.append(rows)
                    if not next_token:
                        break
                    cursor_query = {**query, "cursor": next_token}
            assert seen_sql == seen_orm, params
            # Walking back from the last page gives the same pages in reverse.
            _, _, prev_token = _page(user, cursor_query, True)
            if prev_token:
                back = {**query, "cursor": prev_token}
                assert _page(user, back, True)[0] == _page(user, back, False)[0]
