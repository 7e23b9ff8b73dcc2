from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token KEY`` check, as one precomposed SQL statement.

    DRF builds an ORM query with a join on every request; a raw query through the user model
    (which still applies the model's field converters) does the same lookup for less.
    """

    _sql: str | None = None

    @classmethod
    def _query(cls) -> str:
        if cls._sql is None:
            user = get_user_model()._meta
            token = Token._meta
            cls._sql = (
                f'SELECT u.* FROM "{user.db_table}" u JOIN "{token.db_table}" t '
                f'ON t."{token.get_field("user").column}" = u."{user.pk.column}" WHERE t."key" = %s'
            )
        return cls._sql

    def authenticate_credentials(self, key):
        users = list(get_user_model().objects.raw(self._query(), [key]))
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
