from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.tokens import token_revoke, tokens_purge_expired, tokens_revoke_all


class Command(BaseCommand):
    help = (
        "Revoke API tokens: every token of USERNAME, or the one token given with --key, or "
        "(--expired) delete the expired tokens of every user."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?")
        parser.add_argument("--key", help="revoke only this token (read from the argument)")
        parser.add_argument("--expired", action="store_true", help="delete expired tokens")

    def handle(self, *args, username=None, key=None, expired=False, **options):
        if expired:
            if username or key:
                raise CommandError("--expired takes no USERNAME or --key.")
            self.stdout.write(f"Deleted {tokens_purge_expired()} expired token(s).")
            return
        if key:
            if username:
                raise CommandError("Give USERNAME or --key, not both.")
            if not token_revoke(key=key):
                raise CommandError("No valid token has that key.")
            self.stdout.write("Revoked 1 token.")
            return
        if not username:
            raise CommandError("Give USERNAME, --key KEY or --expired.")
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        self.stdout.write(f"Revoked {tokens_revoke_all(user=user)} token(s) of {username}.")
