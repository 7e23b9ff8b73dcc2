"""API tokens: hashed at rest, shown once, expiring, revocable."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_database_holds_the_tokens_hash_never_the_key(api):
    row = AuthToken.objects.get(user=api.user)
    assert row.digest == hashlib.sha512(api.token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert api.token not in stored


def test_the_admin_cannot_show_a_token(api, admin_client):
    row = AuthToken.objects.get(user=api.user)
    listing = admin_client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200
    detail = admin_client.get(f"/admin/knox/authtoken/{row.pk}/change/")
    assert detail.status_code == 200
    for page in (listing, detail):
        assert api.token not in page.content.decode()
    # The old clear-text token list is gone.
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_an_expired_token_is_401(api):
    assert api.get("/api/trades/").status_code == 200
    AuthToken.objects.filter(user=api.user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = api.get("/api/trades/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_tokens_expire_after_the_configured_days(db, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(days=3)}
    out = io.StringIO()
    call_command("create_api_token", "carol", stdout=out)
    expiry = AuthToken.objects.get(user__username="carol").expiry
    assert timedelta(days=3) - timedelta(minutes=1) < expiry - timezone.now() <= timedelta(days=3)
    call_command("create_api_token", "dave", "--days", "0", stdout=io.StringIO())
    assert AuthToken.objects.get(user__username="dave").expiry is None


def test_logout_revokes_the_token_it_was_sent_with(api, user):
    from api.tokens import token_issue

    _, other_key = token_issue(user=user)
    response = api.post("/api/auth/logout/")
    assert response.status_code == 204
    assert api.get("/api/trades/").status_code == 401
    assert _client(other_key).get("/api/trades/").status_code == 200


def test_logoutall_revokes_every_token_of_the_user(api, other_api, user):
    from api.tokens import token_issue

    _, other_key = token_issue(user=user)
    assert api.post("/api/auth/logoutall/").status_code == 204
    assert api.get("/api/trades/").status_code == 401
    assert _client(other_key).get("/api/trades/").status_code == 401
    assert other_api.get("/api/trades/").status_code == 200


def test_revoke_command_by_user_and_by_key(api, other_api):
    call_command("revoke_api_tokens", "--key", other_api.token, stdout=io.StringIO())
    assert other_api.get("/api/trades/").status_code == 401
    assert api.get("/api/trades/").status_code == 200
    out = io.StringIO()
    call_command("revoke_api_tokens", api.user.username, stdout=out)
    assert "Revoked 1 token" in out.getvalue()
    assert api.get("/api/trades/").status_code == 401
    with pytest.raises(CommandError, match="No valid token"):
        call_command("revoke_api_tokens", "--key", api.token)


def test_revoke_command_deletes_expired_tokens(api, other_api):
    AuthToken.objects.filter(user=api.user).update(expiry=timezone.now() - timedelta(days=1))
    out = io.StringIO()
    call_command("revoke_api_tokens", "--expired", stdout=out)
    assert "Deleted 1 expired" in out.getvalue()
    assert list(AuthToken.objects.values_list("user", flat=True)) == [other_api.user.pk]


def test_login_gives_a_new_token_once(anon, user):
    response = anon.post(
        "/api/auth/login/", {"username": "alice", "password": "s3cret-pass-123"}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    assert response.json()["expiry"].endswith("Z")
    assert _client(key).get("/api/trades/").status_code == 200


def test_login_with_a_wrong_password_is_401(anon, user):
    response = anon.post(
        "/api/auth/login/", {"username": "alice", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401


def test_token_check_is_one_query(api, django_assert_num_queries):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from api.authentication import TokenAuthentication

    request = Request(
        APIRequestFactory().get("/api/trades/", HTTP_AUTHORIZATION=f"Token {api.token}")
    )
    with django_assert_num_queries(1):
        user, token = TokenAuthentication().authenticate(request)
    assert user == api.user and token.digest == AuthToken.objects.get().digest


def test_the_token_check_gives_the_user_as_the_orm_loads_it(api):
    from django.contrib.auth import get_user_model

    from api.authentication import user_for_key

    User = get_user_model()
    User.objects.filter(pk=api.user.pk).update(
        last_login=timezone.now() - timedelta(days=2), first_name="Ada", is_staff=True
    )
    user, token = user_for_key(api.token)
    stored = User.objects.get(pk=api.user.pk)
    fields = [field.attname for field in User._meta.concrete_fields]
    assert [getattr(user, name) for name in fields] == [getattr(stored, name) for name in fields]
    assert user.last_login.tzinfo is not None
    assert not user._state.adding and user._state.db == stored._state.db
    assert token.user is user


@pytest.mark.django_db(transaction=True)
def test_migrating_drops_the_old_clear_text_tokens():
    call_command("migrate", "api", "zero", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY)")
        cursor.execute("INSERT INTO authtoken_token VALUES ('cleartext')")
    call_command("migrate", "api", verbosity=0)
    assert "authtoken_token" not in connection.introspection.table_names()
