from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print the API token of USERNAME, creating the user (without a password) if missing."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        username = username.strip()
        if not username:
            raise CommandError("USERNAME may not be blank.")
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
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
