"""Repeated wrong passwords lock a username out from that address, on every login form."""

import pytest
from django.contrib.auth import get_user_model

PASSWORD = "s3cret-pass-123"


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Many logins in a row; the hash's cost is not what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def limit(settings):
    return settings.AXES_FAILURE_LIMIT


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


def _form_login(client, path, password, remote="203.0.113.7"):
    return client.post(
        path,
        {"username": "root", "password": password, "next": "/admin/"},
        REMOTE_ADDR=remote,
    )


@pytest.mark.parametrize("path", ["/admin/login/", "/api-auth/login/"])
def test_form_logins_lock_out_after_the_failure_limit(client, staff, limit, path):
    for _ in range(limit - 1):
        assert _form_login(client, path, "wrong").status_code == 200  # the form again
    locked = _form_login(client, path, "wrong")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    # Even the right password is refused now, and no session is opened.
    right = _form_login(client, path, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # The same user from another address is not locked out.
    assert _form_login(client, path, PASSWORD, remote="198.51.100.9").status_code == 302


def test_api_login_locks_out_with_a_json_429(anon, staff, limit):
    def login(password):
        return anon.post(
            "/api/auth/login/", {"username": "root", "password": password}, format="json"
        )

    codes = [login("wrong").status_code for _ in range(limit)]
    assert codes == [401] * (limit - 1) + [429]
    response = login(PASSWORD)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.json()["detail"]
    assert "token" not in response.json()


def test_a_success_before_the_limit_clears_the_count(client, staff, limit):
    for _ in range(2):
        for _ in range(limit - 1):
            _form_login(client, "/admin/login/", "wrong")
        assert _form_login(client, "/admin/login/", PASSWORD).status_code == 302
        client.logout()


@pytest.mark.django_db(transaction=True)
async def test_lock_out_under_asgi(async_client, limit):
    from asgiref.sync import sync_to_async

    await sync_to_async(get_user_model().objects.create_user)("root", password=PASSWORD)

    def login(password):
        return async_client.post(
            "/api/auth/login/",
            {"username": "root", "password": password},
            content_type="application/json",
        )

    for _ in range(limit):
        await login("wrong")
    response = await login(PASSWORD)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.json()["detail"]
