from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def resolve_user(username: str | None):
    """The named user, or the demo user (created without a password if missing)."""
    User = get_user_model()
    name = (username or settings.DEMO_USERNAME).strip()
    if username:
        try:
            return User.objects.get(**{User.USERNAME_FIELD: name})
        except User.DoesNotExist:
            raise CommandError(
                f"no user {name!r} (create one: manage.py create_api_token {name})"
            ) from None
    user, created = User.objects.get_or_create(**{User.USERNAME_FIELD: name})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
