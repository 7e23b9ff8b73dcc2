"""Shared fixtures. Database-backed tests run on SQLite by default and on PostgreSQL when
DATABASE_URL points at it (``make test`` does both)."""

from __future__ import annotations

import os

import pytest

from scripts.check_services import reachable

pytest_plugins = [
    "tests.support.servers",
    *(
        ["tests.support.s3"]
        if os.path.exists(os.path.join(os.path.dirname(__file__), "support", "s3.py"))
        else []
    ),
]


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    if os.environ.get("TRADEPULSE_POSTGRES_PHASE_NEXT") == "1":
        reason = "needs PostgreSQL: runs in the PostgreSQL phase of `make test`, next"
    else:
        reason = (
            "needs PostgreSQL: run `make test-postgres` (uses TEST_POSTGRES_URL, default "
            "postgres://postgres@127.0.0.1:5432/test)"
        )
    skip_pg = pytest.mark.skip(reason=reason)
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_runtest_setup(item):
    """Tests of the scale-out mode need a real Redis: skipped (saying how to start it) when it
    is not there, failed instead when TRADEPULSE_REQUIRE_SERVICES=1 (CI)."""
    if "redis" not in item.keywords or reachable(redis_url()):
        return
    message = (
        f"Redis is not reachable at {redis_url()} (set TEST_REDIS_URL or start it with: "
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no)'
    )
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; required because TRADEPULSE_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _token_checks_query_the_database():
    """In the test process every token check queries the database: the token cache's listener
    would hold a connection to the PostgreSQL test database past its drop. The cache is tested
    in served processes (tests/server/test_token_cache.py) and as a unit
    (tests/api/test_token_cache.py)."""
    from django.conf import settings

    settings.API_TOKEN_CACHE_SECONDS = 0


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A PostgreSQL test database of its own per run, so concurrent runs never collide."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"].endswith("postgresql"):
            db.setdefault("TEST", {})["NAME"] = f"test_tradepulse_{os.getpid()}"


@pytest.fixture(autouse=True)
def _responses_match_the_openapi_document(monkeypatch):
    """Every JSON response of the API that a test client receives is validated against the
    published OpenAPI document (``tests.support.openapi``)."""
    from django.test.client import Client

    from tests.support import openapi

    send = Client.request

    def request(self, **kwargs):
        response = send(self, **kwargs)
        if not response.streaming:
            problem = openapi.check(
                kwargs.get("REQUEST_METHOD", "GET"),
                kwargs.get("PATH_INFO", ""),
                response.status_code,
                response.get("Content-Type", ""),
                response.content,
            )
            assert problem is None, f"response does not match the OpenAPI document: {problem}"
        return response

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def make(username: str = "alice", password: str = "s3cret-pass-123"):
        return get_user_model().objects.create_user(username=username, password=password)

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


def _client_for(user):
    """An APIClient sending ``Authorization: Token KEY`` for a new hashed (knox) token of
    ``user``; ``client.token`` is the key (for WebSocket auth messages), ``client.user`` the
    user."""
    from rest_framework.test import APIClient

    from api.tokens import token_issue

    client = APIClient()
    _, key = token_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.user = user
    client.token = key
    return client


@pytest.fixture
def api(user):
    """An API client authenticated as ``user`` with an API token (``api.token`` is the key)."""
    return _client_for(user)


@pytest.fixture
def other_api(other_user):
    return _client_for(other_user)


@pytest.fixture
def anon():
    from rest_framework.test import APIClient

    return APIClient()
