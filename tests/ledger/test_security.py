import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.throttling import SimpleRateThrottle

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/trades/"),
        ("post", "/api/trades/"),
        ("get", "/api/trades/1/"),
        ("delete", "/api/trades/1/"),
        ("post", "/api/trades/bulk/"),
        ("get", "/api/schema/"),
    ],
)
def test_api_requires_authentication(anon, db, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401


def test_bad_token_is_refused(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert anon.get("/api/trades/").status_code == 401


def test_session_login_works_for_the_browsable_api(client, user):
    assert client.login(username="alice", password="s3cret-pass-123")
    response = client.get("/api/trades/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Trade" in response.content


def test_docs_page_redirects_anonymous_users_to_login(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/web/login/?next=/api/docs/"


def test_swagger_ui_is_served_without_a_cdn(client, user):
    client.login(username="alice", password="s3cret-pass-123")
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_schema_describes_the_trade_endpoints(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert {"/api/trades/", "/api/trades/{id}/", "/api/trades/bulk/"} <= set(schema["paths"])


def test_healthz_is_public_and_checks_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_authenticated_throttle_returns_429_with_retry_after(api, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    codes = [api.get("/api/trades/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert int(api.get("/api/trades/")["Retry-After"]) > 0


def test_anonymous_throttle(anon, db, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/min")
    codes = [anon.get("/api/trades/").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = [{"ticker": "AAPL", "side": "buy", "price": "1", "quantity": "1"}] * 100
    response = api.post("/api/trades/bulk/", body, format="json")
    assert response.status_code == 413


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k" * 30 + "-production-secret-" + "z" * 30,
        "DJANGO_ALLOWED_HOSTS": "trades.example.com",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _import_production_settings(tmp_path, secret_key):
    env = {**os.environ, "DJANGO_DEBUG": "0", "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DJANGO_SECRET_KEY", None)
    if secret_key is not None:
        env["DJANGO_SECRET_KEY"] = secret_key
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("secret_key", "says"),
    [
        (None, "missing or empty"),
        ("", "missing or empty"),
        ("   ", "missing or empty"),
        ("insecure-development-key-" + "x" * 40, "public development key"),
    ],
)
def test_production_settings_refuse_a_missing_empty_or_public_secret_key(
    tmp_path, secret_key, says
):
    result = _import_production_settings(tmp_path, secret_key)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr and says in result.stderr


def test_production_settings_accept_a_real_secret_key(tmp_path):
    result = _import_production_settings(tmp_path, "k" * 30 + "-production-secret-" + "z" * 30)
    assert result.returncode == 0, result.stderr


def test_token_of_an_inactive_user_is_refused(api, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = api.get("/api/trades/")
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]


def test_token_authenticates_as_its_own_user(api, other_api, user, other_user):
    from tests.ledger.helpers import add_trade

    mine = add_trade(user)
    assert [t["id"] for t in api.get("/api/trades/").json()["results"]] == [mine.id]
    assert other_api.get("/api/trades/").json()["results"] == []
