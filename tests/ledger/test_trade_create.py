from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.models import Trade

URL = "/api/trades/"


def post(api, body):
    return api.post(URL, body, format="json")


def test_create_returns_the_stored_trade_with_decimals_as_strings(api, user):
    response = post(
        api,
        {
            "ticker": "aapl",
            "side": "BUY",
            "price": "189.25",
            "quantity": "10",
            "timestamp": "2025-01-20T14:30:00Z",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ticker"] == "AAPL"
    assert body["side"] == "buy"
    assert body["price"] == "189.25"
    assert body["quantity"] == "10"
    assert body["timestamp"] == "2025-01-20T14:30:00.000000Z"
    assert body["source"] == "api"
    assert set(body) >= {"id", "created_at", "updated_at"}
    stored = Trade.objects.get(pk=body["id"])
    assert stored.owner == user
    assert stored.price == Decimal("189.25")


@pytest.mark.parametrize("value", ["0.1", "123456789.123456", "0.00000001", "42"])
def test_decimals_round_trip_exactly_from_strings_and_json_numbers(api, value):
    as_string = post(api, {"ticker": "MSFT", "side": "sell", "price": value, "quantity": value})
    assert as_string.status_code == 201
    assert as_string.json()["price"] == value
    raw = f'{{"ticker": "MSFT", "side": "sell", "price": {value}, "quantity": {value}}}'
    as_number = api.post(URL, raw, content_type="application/json")
    assert as_number.status_code == 201, as_number.content
    fetched = api.get(f"{URL}{as_number.json()['id']}/").json()
    assert fetched["price"] == value
    assert fetched["quantity"] == value


def test_timestamp_defaults_to_now(api):
    before = datetime.now(UTC)
    body = post(api, {"ticker": "AAPL", "side": "buy", "price": "1", "quantity": "1"}).json()
    stamped = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC)


def test_timestamp_without_offset_is_utc_and_offsets_are_converted(api):
    naive = post(
        api,
        {
            "ticker": "AAPL",
            "side": "buy",
            "price": "1",
            "quantity": "1",
            "timestamp": "2025-01-20T09:30:00",
        },
    )
    assert naive.json()["timestamp"] == "2025-01-20T09:30:00.000000Z"
    offset = post(
        api,
        {
            "ticker": "AAPL",
            "side": "buy",
            "price": "1",
            "quantity": "1",
            "timestamp": "2025-01-20T09:30:00-05:00",
        },
    )
    assert offset.json()["timestamp"] == "2025-01-20T14:30:00.000000Z"


@pytest.mark.parametrize("ticker", ["AAPL", "brk.b", "^GSPC", "EURUSD=X", "BTC-USD", "GC=F"])
def test_real_symbol_shapes_are_accepted(api, ticker):
    response = post(api, {"ticker": ticker, "side": "buy", "price": "1", "quantity": "1"})
    assert response.status_code == 201
    assert response.json()["ticker"] == ticker.upper()


BAD_INPUTS = [
    ({"ticker": ""}, "ticker"),
    ({"ticker": "AA PL"}, "ticker"),
    ({"ticker": "$$$"}, "ticker"),
    ({"ticker": "A" * 21}, "ticker"),
    ({"ticker": 123}, "ticker"),
    ({"side": "hold"}, "side"),
    ({"side": None}, "side"),
    ({"price": "0"}, "price"),
    ({"price": "-1"}, "price"),
    ({"price": "abc"}, "price"),
    ({"price": "NaN"}, "price"),
    ({"price": "1e13"}, "price"),
    ({"price": "1.123456789"}, "price"),
    ({"price": True}, "price"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "-0.5"}, "quantity"),
    ({"quantity": "Infinity"}, "quantity"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": "2025-02-30T00:00:00Z"}, "timestamp"),
    ({"timestamp": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "timestamp"),
    ({"timestamp": "1969-12-31T23:59:59Z"}, "timestamp"),
]


@pytest.mark.parametrize(("override", "field"), BAD_INPUTS)
def test_each_bad_input_is_a_400_naming_the_field(api, override, field):
    body = {"ticker": "AAPL", "side": "buy", "price": "10", "quantity": "1", **override}
    response = post(api, body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Trade.objects.count() == 0


@pytest.mark.parametrize("missing", ["ticker", "side", "price", "quantity"])
def test_missing_required_field_is_named(api, missing):
    body = {"ticker": "AAPL", "side": "buy", "price": "10", "quantity": "1"}
    del body[missing]
    response = post(api, body)
    assert response.status_code == 400
    assert response.json()[missing] == ["This field is required."]


def test_malformed_json_and_non_object_bodies_are_400(api):
    assert api.post(URL, "{not json", content_type="application/json").status_code == 400
    listed = post(api, [{"ticker": "AAPL"}])
    assert listed.status_code == 400
    assert "non_field_errors" in listed.json()


def test_read_only_fields_are_ignored_on_create(api):
    response = post(
        api,
        {
            "ticker": "AAPL",
            "side": "buy",
            "price": "1",
            "quantity": "1",
            "id": 999,
            "source": "paper",
        },
    )
    assert response.status_code == 201
    assert response.json()["id"] != 999
    assert response.json()["source"] == "api"
