import io

from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from ledger.models import Trade


def test_create_api_token_creates_user_and_prints_only_the_token(db):
    out = io.StringIO()
    call_command("create_api_token", "carol", stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get(user__username="carol").key == key
    again = io.StringIO()
    call_command("create_api_token", "carol", stdout=again)
    assert again.getvalue().strip() == key
    assert get_user_model().objects.filter(username="carol").count() == 1


def test_seed_demo_is_idempotent(db, client):
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    count = Trade.objects.count()
    assert count >= 3
    assert "demo" in first.getvalue() and "tradepulse-demo" in first.getvalue()
    token = Token.objects.get(user__username="demo").key
    assert token in first.getvalue()
    call_command("seed_demo", stdout=io.StringIO())
    assert Trade.objects.count() == count
    assert client.login(username="demo", password="tradepulse-demo")
