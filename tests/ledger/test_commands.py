import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ledger.models import Trade


def _token_in(text: str) -> str:
    return re.search(r"\b[0-9a-f]{64}\b", text).group(0)


def test_create_api_token_creates_user_and_prints_a_new_token_each_time(db):
    anon = APIClient()
    out = io.StringIO()
    call_command("create_api_token", "carol", stdout=out)
    key = out.getvalue().strip()
    again = io.StringIO()
    call_command("create_api_token", "carol", stdout=again)
    assert again.getvalue().strip() != key
    assert get_user_model().objects.filter(username="carol").count() == 1
    for token in (key, again.getvalue().strip()):
        anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert anon.get("/api/trades/").status_code == 200


def test_create_api_token_refuses_negative_days(db):
    with pytest.raises(CommandError, match="--days"):
        call_command("create_api_token", "carol", "--days", "-1")


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_seed_demo_is_idempotent(db, client, debug):
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    count = Trade.objects.count()
    assert count >= 3
    assert "demo" in first.getvalue() and "tradepulse-demo" in first.getvalue()
    token = _token_in(first.getvalue())
    call_command("seed_demo", stdout=io.StringIO())
    assert Trade.objects.count() == count
    assert client.login(username="demo", password="tradepulse-demo")
    anon = APIClient()
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon.get("/api/trades/").status_code == 200


def test_demo_user_is_never_staff_and_cannot_open_the_admin(db, client, debug):
    call_command("seed_demo", stdout=io.StringIO())
    demo = get_user_model().objects.get(username="demo")
    assert not demo.is_staff and not demo.is_superuser
    assert client.login(username="demo", password="tradepulse-demo")
    assert client.get("/admin/").status_code == 302  # to the admin login page


def test_seed_demo_demotes_a_demo_user_made_staff_by_older_versions(db, debug):
    get_user_model().objects.create_superuser("demo", password="tradepulse-demo")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    demo = get_user_model().objects.get(username="demo")
    assert not demo.is_staff and not demo.is_superuser
    assert "no longer staff" in out.getvalue()


def test_seed_demo_without_debug_creates_no_user_unless_asked(db, settings):
    settings.DEBUG = False
    settings.DEMO_USER_IN_PRODUCTION = False
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert not get_user_model().objects.filter(username="demo").exists()
    assert Trade.objects.count() == 0
    assert "--in-production" in out.getvalue()


def test_seed_demo_in_production_gives_a_random_password_shown_once(db, settings, client):
    settings.DEBUG = False
    out = io.StringIO()
    call_command("seed_demo", "--in-production", stdout=out)
    password = re.search(r"Password:\s+(\S+)", out.getvalue()).group(1)
    assert password != "tradepulse-demo" and len(password) >= 20
    demo = get_user_model().objects.get(username="demo")
    assert not demo.is_staff and not demo.check_password("tradepulse-demo")
    assert client.login(username="demo", password=password)
    again = io.StringIO()
    call_command("seed_demo", "--in-production", stdout=again)
    assert password not in again.getvalue() and "(unchanged)" in again.getvalue()


def test_seed_demo_in_production_disables_the_published_password(db, settings, client):
    get_user_model().objects.create_superuser("demo", password="tradepulse-demo")
    settings.DEBUG = False
    call_command("seed_demo", stdout=io.StringIO())
    demo = get_user_model().objects.get(username="demo")
    assert not demo.is_staff and not demo.is_superuser
    assert not client.login(username="demo", password="tradepulse-demo")
