"""Which database the settings choose, read in a fresh interpreter for each environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DB_VARS = ("DATABASE_URL", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "SQLITE_PATH")


def database_for(env_overrides: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DB_VARS}
    env.update(env_overrides)
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "db = settings.DATABASES['default'];"
        "print(json.dumps({k: str(db.get(k, '')) for k in ('ENGINE', 'NAME', 'USER', 'HOST', 'PORT')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_sqlite_under_var_by_default():
    db = database_for({})
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"].endswith("var/tradepulse.sqlite3")


def test_database_url_selects_postgresql():
    db = database_for({"DATABASE_URL": "postgres://u:p@db.internal:6543/ledger"})
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["HOST"], db["PORT"]) == (
        "ledger",
        "u",
        "db.internal",
        "6543",
    )


@pytest.mark.parametrize("port", ["5432", "5433"])
def test_dotenv_style_variables_select_postgresql(port):
    db = database_for(
        {
            "DB_NAME": "trades",
            "DB_USER": "app",
            "DB_PASSWORD": "pw",
            "DB_HOST": "10.0.0.5",
            "DB_PORT": port,
        }
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["HOST"], db["PORT"]) == ("trades", "app", "10.0.0.5", port)


def _server_process_switch_interval(value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in DB_VARS}
    if value is not None:
        env["GIL_SWITCH_INTERVAL_MS"] = value
    code = "import sys; import config.asgi; print(sys.getswitchinterval())"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(("value", "seconds"), [(None, 0.001), ("2.5", 0.0025)])
def test_a_server_process_sets_the_interpreter_lock_switch_interval(value, seconds):
    result = _server_process_switch_interval(value)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split()[-1]) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["0", "-1", "5000", "fast"])
def test_a_bad_switch_interval_stops_the_start_with_its_name(value):
    result = _server_process_switch_interval(value)
    assert result.returncode != 0
    assert "GIL_SWITCH_INTERVAL_MS" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(("API_TOKEN_CACHE_SECONDS", value) for value in ("-1", "soon", "1.5")),
        *(("HTTP_READ_TIMEOUT", value) for value in ("0", "-1", "4000", "never")),
    ],
)
def test_a_bad_duration_stops_the_start_with_its_name(name, value):
    env = {k: v for k, v in os.environ.items() if k not in DB_VARS}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", name: value},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and name in last, last
