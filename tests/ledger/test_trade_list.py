from datetime import UTC, datetime, timedelta

import pytest

from tests.ledger.helpers import add_trade

URL = "/api/trades/"


def ids(response):
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


def test_list_is_newest_first_and_only_the_owners(api, user, other_user):
    old = add_trade(user, timestamp="2025-01-01T10:00:00Z")
    new = add_trade(user, timestamp="2025-01-02T10:00:00Z")
    add_trade(other_user, timestamp="2025-01-03T10:00:00Z")
    assert ids(api.get(URL)) == [new.id, old.id]


def test_ticker_filter_is_case_insensitive(api, user):
    aapl = add_trade(user, ticker="AAPL")
    add_trade(user, ticker="MSFT")
    assert ids(api.get(URL, {"ticker": "aapl"})) == [aapl.id]


def test_side_filter(api, user):
    add_trade(user, side="buy")
    sell = add_trade(user, side="sell")
    assert ids(api.get(URL, {"side": "SELL"})) == [sell.id]


def test_end_date_as_a_day_includes_the_whole_utc_day(api, user):
    last_second = add_trade(user, timestamp="2025-01-15T23:59:59.999999Z")
    add_trade(user, timestamp="2025-01-16T00:00:00Z")
    first = add_trade(user, timestamp="2025-01-15T00:00:00Z")
    add_trade(user, timestamp="2025-01-14T23:59:59.999999Z")
    got = ids(api.get(URL, {"start_date": "2025-01-15", "end_date": "2025-01-15"}))
    assert got == [last_second.id, first.id]


def test_datetime_bounds_are_inclusive_and_offsets_respected(api, user):
    at_start = add_trade(user, timestamp="2025-01-15T14:30:00Z")
    at_end = add_trade(user, timestamp="2025-01-15T15:30:00Z")
    add_trade(user, timestamp="2025-01-15T15:30:00.000001Z")
    got = ids(
        api.get(URL, {"start_date": "2025-01-15T09:30:00-05:00", "end_date": "2025-01-15T15:30:00"})
    )
    assert got == [at_end.id, at_start.id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": "2025-13-01"}, "start_date"),
        ({"end_date": "tomorrow"}, "end_date"),
        ({"start_date": "2025-01-16", "end_date": "2025-01-15"}, "end_date"),
        ({"start_date": "2025-01-15T12:00:00Z", "end_date": "2025-01-15T11:00:00Z"}, "end_date"),
        ({"ticker": "NOT A TICKER"}, "ticker"),
        ({"side": "hold"}, "side"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"cursor": "garbage!"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_same_day_start_and_end_is_valid(api, user):
    t = add_trade(user, timestamp="2025-01-15T12:00:00Z")
    assert ids(api.get(URL, {"start_date": "2025-01-15", "end_date": "2025-01-15"})) == [t.id]


def test_cursor_pages_walk_every_row_once_even_with_equal_timestamps(api, user):
    stamp = datetime(2025, 1, 10, tzinfo=UTC)
    made = [add_trade(user, timestamp=stamp + timedelta(seconds=i // 3)) for i in range(25)]
    expected = [t.id for t in sorted(made, key=lambda t: (t.timestamp, t.id), reverse=True)]
    seen, url, pages = [], URL + "?page_size=4", 0
    while url:
        response = api.get(url)
        seen += ids(response)
        url = response.json()["next"]
        pages += 1
    assert seen == expected
    assert pages == 7


def test_previous_link_returns_the_page_before(api, user):
    for i in range(10):
        add_trade(user, timestamp=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=i))
    first = api.get(URL, {"page_size": 3}).json()
    assert first["previous"] is None
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()
    assert [t["id"] for t in back["results"]] == [t["id"] for t in first["results"]]


def test_default_page_is_100_and_page_size_goes_to_1000(api, user):
    from ledger.models import Trade

    now = datetime(2025, 1, 1, tzinfo=UTC)
    Trade.objects.bulk_create(
        [
            Trade(
                owner=user,
                ticker="AAPL",
                side="buy",
                price=1,
                quantity=1,
                timestamp=now + timedelta(seconds=i),
            )
            for i in range(1001)
        ]
    )
    assert len(ids(api.get(URL))) == 100
    assert len(ids(api.get(URL, {"page_size": 1000}))) == 1000


def test_list_query_uses_no_count_and_no_function_on_indexed_columns(api, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_trade(user)
    with CaptureQueriesContext(connection) as ctx:
        api.get(URL, {"ticker": "aapl", "start_date": "2025-01-01"})
    trade_sql = [q["sql"] for q in ctx.captured_queries if "ledger_trade" in q["sql"]]
    assert len(trade_sql) == 1
    sql = trade_sql[0].upper()
    assert "COUNT(" not in sql
    assert "UPPER(" not in sql
    assert "OFFSET" not in sql


def test_filter_sets_share_nothing_of_a_request():
    """The declared filters and form fields are shared by every filter set (they are not
    copied per request): one set's values and errors never reach another's, even when
    requests validate at the same time on several threads."""
    from concurrent.futures import ThreadPoolExecutor

    from django.http import QueryDict

    from ledger.api.filters import TradeFilter

    cases = [
        ({"ticker": "aapl", "side": "BUY"}, {"ticker": "AAPL", "side": "buy"}, set()),
        ({"ticker": "msft", "start_date": "2025-01-02"}, {"ticker": "MSFT"}, set()),
        ({"side": "hold"}, None, {"side"}),
        ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, None, {"end_date"}),
        ({"start_date": "not a date"}, None, {"start_date"}),
    ]

    def check(index: int) -> None:
        data, lookups, errors = cases[index % len(cases)]
        query = QueryDict(mutable=True)
        query.update(data)
        filters = TradeFilter(query)
        assert filters.is_valid() == (not errors)
        assert set(filters.errors) == errors
        if lookups is not None:
            assert {k: v for k, v in filters.lookups().items() if k in lookups} == lookups

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(check, range(2000)))
    assert TradeFilter().filters is TradeFilter.base_filters
