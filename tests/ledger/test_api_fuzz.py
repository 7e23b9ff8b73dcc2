"""Property-based fuzz of the API from its own OpenAPI schema: no input may cause a 5xx."""

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

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
