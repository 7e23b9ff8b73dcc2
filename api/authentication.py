"""API tokens: ``Authorization: Token KEY``, stored only as SHA-512 digests (django-rest-knox).

A key is shown once, when it is made (``manage.py create_api_token`` or ``POST
/api/auth/login/``); the database holds its first 15 characters (to find the row) and its
digest. A token expires ``API_TOKEN_TTL_DAYS`` after it is made (0: never) and is revoked by
``POST /api/auth/logout/``, ``POST /api/auth/logoutall/`` or ``manage.py revoke_api_tokens``.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import authentication, exceptions


class _Query:
    sql: str | None = None

    @classmethod
    def get(cls) -> str:
        if cls.sql is None:
            user = get_user_model()._meta
            token = get_token_model()._meta
            column = token.get_field("user").column
            cls.sql = (
                f'SELECT u.*, t."digest" AS "token_digest" FROM "{user.db_table}" u '
                f'JOIN "{token.db_table}" t ON t."{column}" = u."{user.pk.column}" '
                f'WHERE t."token_key" = %s AND (t."expiry" IS NULL OR t."expiry" > %s)'
            )
        return cls.sql


def user_for_key(key: str):
    """``(user, token)`` for a valid, unexpired key, else None. The caller checks
    ``user.is_active``.

    One SQL statement: the rows whose key prefix matches and that have not expired, with their
    user; the key's digest is then compared in constant time. Expired tokens simply stop
    matching (``manage.py revoke_api_tokens --expired`` deletes them).
    """
    if not key or len(key) > 256:
        return None
    try:
        digest = hash_token(key)
    except (TypeError, ValueError, binascii.Error):
        return None
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = get_user_model().objects.raw(_Query.get(), [key[: CONSTANTS.TOKEN_KEY_LENGTH], now])
    for user in rows:
        if compare_digest(digest, user.token_digest):
            token = get_token_model()(
                digest=user.token_digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user=user
            )
            return user, token
    return None


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token KEY`` header, checked against hashed knox tokens.

    ``request.auth`` is the token (a knox ``AuthToken``), which the logout view deletes.
    """

    def authenticate_credentials(self, key):
        found = user_for_key(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not found[0].is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return found
