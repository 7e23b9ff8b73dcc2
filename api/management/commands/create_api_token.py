from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.tokens import token_issue


class Command(BaseCommand):
    help = (
        "Make a new API token for USERNAME (creating the user, without a password, if missing) "
        "and print it. The key is shown only now: the database keeps its hash. It expires "
        "after API_TOKEN_TTL_DAYS unless --days says otherwise (0: never)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--days", type=int, default=None, help="days until it expires (0: never)"
        )

    def handle(self, *args, username: str, days: int | None, **options):
        username = username.strip()
        if not username:
            raise CommandError("USERNAME may not be blank.")
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (never expires) or more.")
        User = get_user_model()
        field = User._meta.get_field(User.USERNAME_FIELD)
        try:
            field.run_validators(username)
        except Exception as exc:
            raise CommandError(f"invalid username {username!r}: {' '.join(exc.messages)}") from None
        user, created = User.objects.get_or_create(**{User.USERNAME_FIELD: username})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if days is None:
            _, key = token_issue(user=user)
        else:
            _, key = token_issue(user=user, ttl=timedelta(days=days) if days else None)
        self.stdout.write(key)
