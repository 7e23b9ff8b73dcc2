"""API tokens: ``Authorization: Token KEY``, stored only as SHA-512 digests (django-rest-knox).

A key is shown once, when it is made (``manage.py create_api_token`` or ``POST
/api/auth/login/``); the database holds its first 15 characters (to find the row) and its
digest. A token expires ``API_TOKEN_TTL_DAYS`` after it is made (0: never) and is revoked by
``POST /api/auth/logout/``, ``POST /api/auth/logoutall/`` or ``manage.py revoke_api_tokens``.
"""

from __future__ import annotations

import binascii
from functools import cache
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import authentication, exceptions

from api.token_cache import cache as token_cache


@cache
def _statement() -> tuple[str, tuple[tuple[int, list, Any], ...]]:
    """The statement of :func:`user_for_key` (the user's columns, in the order of its concrete
    fields, then the token's digest and expiry) and the ORM's converters of those columns, by position.
    Made once: the database does not change in a process."""
    conn = connections[DEFAULT_DB_ALIAS]
    quote = conn.ops.quote_name
    user = get_user_model()._meta
    token = get_token_model()._meta
    converters = []
    for index, field in enumerate(user.concrete_fields):
        col = field.get_col(user.db_table)
        found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
        if found:
            converters.append((index, found, col))
    columns = ", ".join(f"u.{quote(field.column)}" for field in user.concrete_fields)
    sql = (
        f'SELECT {columns}, t."digest", t."expiry" FROM {quote(user.db_table)} u '
        f"JOIN {quote(token.db_table)} t "
        f"ON t.{quote(token.get_field('user').column)} = u.{quote(user.pk.column)} "
        f'WHERE t."token_key" = %s AND (t."expiry" IS NULL OR t."expiry" > %s)'
    )
    return sql, tuple(converters)


def user_for_key(key: str):
    """``(user, token)`` for a valid, unexpired key, else None. The caller checks
    ``user.is_active``.

    One SQL statement: the rows whose key prefix matches and that have not expired, with their
    user; the key's digest is then compared in constant time. Expired tokens simply stop
    matching (``manage.py revoke_api_tokens --expired`` deletes them). The statement is plain
    SQL on a cursor, not a ``RawQuerySet``: it runs on every API request. On PostgreSQL what it
    found is remembered until a token or user changes (:mod:`api.token_cache`).
    """
    if not key or len(key) > 256:
        return None
    try:
        digest = hash_token(key)
    except (TypeError, ValueError, binascii.Error):
        return None
    # The connection itself: the ``connection`` proxy looks it up again on every attribute.
    conn = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    generation = None
    if token_cache.enabled():
        found, generation = token_cache.get(digest)
        if found is not None:
            values, expiry = found
            if expiry is None or expiry > now:
                return _user_and_token(conn, list(values), digest, key)
            return None
    prefix = key[: CONSTANTS.TOKEN_KEY_LENGTH]
    sql, converters = _statement()
    with conn.cursor() as cursor:
        cursor.execute(sql, [prefix, conn.ops.adapt_datetimefield_value(now)])
        rows = cursor.fetchall()
    for *values, token_digest, expiry in rows:
        if compare_digest(digest, token_digest):
            # The user as the ORM builds a fetched one.
            for index, convert_all, col in converters:
                for convert in convert_all:
                    values[index] = convert(values[index], col, conn)
            # Not inside a transaction: it may have changed the row and be rolled back.
            if generation is not None and not conn.in_atomic_block:
                token_cache.put(digest, (tuple(values), expiry), generation)
            return _user_and_token(conn, values, token_digest, key)
    return None


def _user_and_token(conn, values: list, digest: str, key: str):
    user = get_user_model().from_db(conn.alias, None, values)
    token = get_token_model()(digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user=user)
    return user, token


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
