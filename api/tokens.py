"""Issuing and revoking API tokens (django-rest-knox ``AuthToken`` rows)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from knox.models import get_token_model
from knox.settings import knox_settings

from api.authentication import user_for_key
from api.token_cache import forget_now_and_at_commit

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
    token_delete(found[1])
    return True


def token_delete(token) -> None:
    """Delete ``token`` (a row, or the unsaved ``request.auth`` that names it by digest)."""
    token.delete()
    forget_now_and_at_commit()


def tokens_revoke_all(*, user) -> int:
    """Delete every token of ``user``; how many there were."""
    deleted = user.auth_token_set.all().delete()[0]
    forget_now_and_at_commit()
    return deleted


def tokens_purge_expired() -> int:
    """Delete every expired token; how many there were."""
    deleted = get_token_model().objects.filter(expiry__lte=timezone.now()).delete()[0]
    forget_now_and_at_commit()
    return deleted
