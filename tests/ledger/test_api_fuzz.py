"""Property-based fuzz of the API from its own OpenAPI schema: no input may cause a 5xx."""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import response_schema_conformance

RAW_SCHEMA = json.loads(
    json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str)
)
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
APP = get_wsgi_application()


@pytest.fixture
def token(transactional_db, api):
    from tests.ledger.helpers import add_trade

    for i in range(3):
        add_trade(api.user, price=str(10 + i))
    return api.token


@pytest.mark.slow
@schema.include(path_regex="^/api/trades").parametrize()
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_trade_api_never_answers_with_a_server_error(case, token):
    response = case.call(app=APP, headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.path, case.body, response.text[:500])
    # What it answers is what the document says it answers.
    case.validate_response(response, checks=[response_schema_conformance])


EDGE_DECIMALS = [
    "1e-999999999999",
    "999999999999.9999999999999999999",
    "0.999999999999999999999999999999",
    "999999999999.99999999",
    "0.00000001",
    "1e12",
    "-0",
    "NaN",
    "1e999999999999",
]
EDGE_TIMESTAMPS = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
]
EDGE_DATES = ["9999-12-31", "0001-01-01", *EDGE_TIMESTAMPS]


def _cursor(payload: str) -> str:
    import base64

    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


EDGE_CURSORS = [
    _cursor('{"t": "2025-01-20T10:00:00Z", "i": Infinity, "r": 0}'),
    _cursor('{"t": "2025-01-20T10:00:00Z", "i": ' + str(10**30) + ', "r": 0}'),
    _cursor('{"t": "0001-01-01T00:00:00+01:00", "i": 1, "r": 0}'),
    _cursor('{"t": "9999-12-31T23:59:59-01:00", "i": 1, "r": 1}'),
    _cursor('{"t": "0001-01-01T00:00:00Z", "i": 1, "r": 1}'),
]


@pytest.mark.slow
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(
    price=st.sampled_from(EDGE_DECIMALS),
    quantity=st.sampled_from(EDGE_DECIMALS),
    timestamp=st.sampled_from(EDGE_TIMESTAMPS),
    start=st.sampled_from(EDGE_DATES),
    end=st.sampled_from(EDGE_DATES),
    cursor=st.sampled_from(EDGE_CURSORS),
    depth=st.sampled_from([33, 1000, 10000]),
)
def test_edges_of_the_representable_never_answer_with_a_server_error(
    api, price, quantity, timestamp, start, end, cursor, depth
):
    trade = {"ticker": "AAPL", "side": "buy", "price": price, "quantity": quantity}
    stamped = {**trade, "timestamp": timestamp}
    answers = [
        api.post("/api/trades/", stamped, format="json"),
        api.post("/api/trades/bulk/", [stamped, trade], format="json"),
        api.post("/api/trades/", "[" * depth + "]" * depth, content_type="application/json"),
    ]
    created = api.post("/api/trades/", {**trade, "price": "1", "quantity": "1"}, format="json")
    answers.append(api.patch(f"/api/trades/{created.data['id']}/", stamped, format="json"))
    for path in ("/api/trades/", "/api/alerts/", "/api/backtests/", "/api/paper-sessions/"):
        answers.append(api.get(path, {"cursor": cursor}))
    for path in ("/api/trades/", "/api/alerts/"):
        answers.append(api.get(path, {"start_date": start, "end_date": end}))
    answers.append(api.get("/api/positions/"))
    for response in answers:
        assert response.status_code < 500, (response.status_code, response.content[:300])
