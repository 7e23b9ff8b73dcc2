"""Issuing and revoking API tokens (django-rest-knox ``AuthToken`` rows)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from knox.models import get_token_model
from knox.settings import knox_settings

from api.authentication import user_for_key

_DEFAULT = object()


def token_issue(*, user, ttl: timedelta | None | object = _DEFAULT) -> tuple[object, str]:
    """A new token for ``user``: ``(token row, key)``. The key exists only in this return
    value; the row holds its digest. ``ttl`` defaults to ``API_TOKEN_TTL_DAYS``; None: never
    expires."""
    if ttl is _DEFAULT:
        ttl = knox_settings.TOKEN_TTL
    return get_token_model().objects.create(user=user, expiry=ttl)


def token_revoke(*, key: str) -> bool:
    """Delete the token whose key is ``key``; False if there was none."""
    found = user_for_key(key)
    if found is None:  # unknown or already expired
        return False
    found[1].delete()
    return True


def tokens_revoke_all(*, user) -> int:
    """Delete every token of ``user``; how many there were."""
    return user.auth_token_set.all().delete()[0]


def tokens_purge_expired() -> int:
    """Delete every expired token; how many there were."""
    return get_token_model().objects.filter(expiry__lte=timezone.now()).delete()[0]
