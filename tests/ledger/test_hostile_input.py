"""Input at the edges of what Python, the database and the API can represent is a 400 naming
the field (or a 404 for a path that is not there), never a 500 and never a silent change."""

from __future__ import annotations

import base64
import json

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Trade
from tests.ledger.helpers import add_trade

TOO_PRECISE = [
    "1e-999999999999",
    "999999999999.9999999999999999999",
    "0.999999999999999999999999999999",
    "0.000000001",
    "1.000000000000000000000000000001",
]
OUT_OF_RANGE_TIMESTAMPS = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]
TRADE = {"ticker": "AAPL", "side": "buy", "price": "10", "quantity": "1"}


def _raw_decimal_body(field: str, text: str) -> str:
    """A JSON trade whose ``field`` is the bare JSON number ``text`` (not a string)."""
    other = {k: v for k, v in TRADE.items() if k != field}
    return json.dumps(other)[:-1] + f', "{field}": {text}}}'


@pytest.mark.parametrize("field", ["price", "quantity"])
@pytest.mark.parametrize("value", TOO_PRECISE)
def test_more_than_eight_decimal_places_is_refused_on_create_patch_and_bulk(api, field, value):
    message = f"{field.capitalize()} may have at most 8 decimal places."
    for body in ({**TRADE, field: value},):
        response = api.post("/api/trades/", body, format="json")
        assert response.status_code == 400
        assert response.data == {field: [message]}
    as_number = api.post(
        "/api/trades/", _raw_decimal_body(field, value), content_type="application/json"
    )
    assert as_number.status_code == 400
    assert as_number.data == {field: [message]}

    trade = add_trade(api.user)
    patched = api.patch(f"/api/trades/{trade.pk}/", {field: value}, format="json")
    assert patched.status_code == 400
    assert patched.data == {field: [message]}

    bulk = api.post("/api/trades/bulk/", [TRADE, {**TRADE, field: value}], format="json")
    assert bulk.status_code == 400
    assert bulk.data == {"errors": [{"index": 1, field: [message]}]}
    assert Trade.objects.count() == 1
    trade.refresh_from_db()
    assert str(trade.price.normalize()) == "1E+2" and trade.quantity == 1


def test_trailing_zeros_beyond_eight_places_are_not_extra_precision(api):
    response = api.post("/api/trades/", {**TRADE, "price": "12.500000000000000000"}, format="json")
    assert response.status_code == 201
    assert response.data["price"] == "12.5"


def test_csv_import_refuses_too_precise_values_naming_line_and_field(user, tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text(
        "ticker,side,price,quantity\nAAPL,buy,10,1\nAAPL,buy,0.999999999999999999999999999999,1\n"
    )
    with pytest.raises(CommandError) as raised:
        call_command("import_trades", str(path), "--user", user.username, "--no-progress")
    assert "line 3: price: Price may have at most 8 decimal places." in str(raised.value)
    assert Trade.objects.count() == 0


@pytest.mark.parametrize("stamp", OUT_OF_RANGE_TIMESTAMPS)
def test_timestamps_beyond_the_datetime_range_are_refused(api, stamp):
    expected = f"'{stamp}' is outside the supported range (0001-01-01 to 9999-12-31 in UTC)."
    created = api.post("/api/trades/", {**TRADE, "timestamp": stamp}, format="json")
    assert created.status_code == 400
    assert created.data == {"timestamp": [expected]}

    trade = add_trade(api.user)
    for method in (api.patch, api.put):
        changed = method(f"/api/trades/{trade.pk}/", {**TRADE, "timestamp": stamp}, format="json")
        assert changed.status_code == 400
        assert changed.data == {"timestamp": [expected]}

    bulk = api.post("/api/trades/bulk/", [{**TRADE, "timestamp": stamp}], format="json")
    assert bulk.status_code == 400
    assert bulk.data == {"errors": [{"index": 0, "timestamp": [expected]}]}


@pytest.mark.parametrize("path", ["/api/trades/", "/api/alerts/"])
def test_date_filters_at_the_end_of_the_calendar(api, path):
    add_trade(api.user, timestamp="2025-01-20T10:00:00Z")
    last_day = api.get(path, {"end_date": "9999-12-31"})
    assert last_day.status_code == 200
    if path == "/api/trades/":
        assert len(last_day.data["results"]) == 1
    assert api.get(path, {"start_date": "9999-12-31", "end_date": "9999-12-31"}).status_code == 200
    for param in ("start_date", "end_date"):
        beyond = api.get(path, {param: "9999-12-31T23:59:59-01:00"})
        assert beyond.status_code == 400
        assert list(beyond.data) == [param]


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


TAMPERED_CURSORS = [
    '{"t": "2025-01-20T10:00:00Z", "i": Infinity, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": NaN, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": 1000000000000000000000000000000, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": -1, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": 1.5, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": true, "r": 0}',
    '{"t": "0001-01-01T00:00:00+01:00", "i": 1, "r": 0}',
    '{"t": "9999-12-31T23:59:59-01:00", "i": 1, "r": 1}',
    '{"t": 12, "i": 1, "r": 0}',
    '{"t": "2025-01-20T10:00:00Z", "i": 1, "r": 7}',
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "[" * 10000 + "]" * 10000,
]
CURSOR_LISTS = ["/api/trades/", "/api/alerts/", "/api/backtests/", "/api/paper-sessions/"]


@pytest.mark.parametrize("path", CURSOR_LISTS)
def test_tampered_cursors_are_a_400_on_every_cursor_paginated_list(api, path):
    add_trade(api.user)
    for payload in TAMPERED_CURSORS:
        response = api.get(path, {"cursor": _cursor(payload)})
        assert response.status_code == 400, (path, payload[:80])
        assert response.data == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize("path", CURSOR_LISTS)
def test_a_cursor_at_year_one_in_utc_is_a_valid_position(api, path):
    add_trade(api.user)
    backwards = _cursor('{"t": "0001-01-01T00:00:00Z", "i": 1, "r": 1}')
    response = api.get(path, {"cursor": backwards})
    assert response.status_code == 200


DEEP = "[" * 10000 + "]" * 10000
JSON_ENDPOINTS = [
    ("post", "/api/trades/"),
    ("post", "/api/trades/bulk/"),
    ("put", "/api/alert-rules/"),
    ("post", "/api/backtests/"),
    ("post", "/api/paper-sessions/"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP, '{"a": ' * 10000 + "1" + "}" * 10000, "[" * 40 + "]" * 40])
def test_deeply_nested_json_is_a_400(api, method, path, body):
    response = getattr(api, method)(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.data["detail"]


def test_deeply_nested_json_on_a_trade_patch_is_a_400(api):
    trade = add_trade(api.user)
    response = api.patch(f"/api/trades/{trade.pk}/", DEEP, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("suffix", ["/api/trades.json", "/api/trades.csv", "/api/trades/{pk}.json"])
def test_format_suffixes_are_not_routes(api, suffix):
    trade = add_trade(api.user)
    assert api.get(suffix.format(pk=trade.pk)).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ticker", "\ud800"),  # a lone surrogate: text with no UTF-8 form
        ("side", "\ud800"),
        ("ticker", "\u017f"),  # "ſ", which upper-cases to the ASCII "S"
    ],
)
def test_text_that_is_not_a_valid_symbol_or_side_is_a_400_in_json(api, field, value):
    body = json.dumps({**TRADE, field: value})  # JSON escapes: \ud800 is valid JSON text
    for path in ("/api/trades/", "/api/trades/bulk/"):
        data = body if path == "/api/trades/" else f"[{body}]"
        response = api.generic("POST", path, data, content_type="application/json")
        assert response.status_code == 400, response.content
        errors = json.loads(response.content)  # the answer is JSON, the text escaped
        found = errors[field] if path == "/api/trades/" else errors["errors"][0][field]
        assert value in found[0]
    assert Trade.objects.count() == 0
