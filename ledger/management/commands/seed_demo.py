import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.tokens import token_issue
from ledger.models import Trade

SAMPLE_TRADES = [
    ("AAPL", "buy", "189.25", "10"),
    ("MSFT", "buy", "411.10", "5"),
    ("AAPL", "sell", "192.80", "4"),
    ("NVDA", "buy", "121.55", "12.5"),
    ("BTC-USD", "buy", "64250.00", "0.015"),
]


def _add_sample_trades(user) -> int:
    """The sample trades, once: only for a demo user created by this run, so trades the user
    deleted later never come back."""
    start = timezone.now().replace(microsecond=0) - timedelta(hours=len(SAMPLE_TRADES))
    added = 0
    for index, (ticker, side, price, quantity) in enumerate(SAMPLE_TRADES):
        _, made = Trade.objects.get_or_create(
            owner=user,
            source=Trade.Source.IMPORT,
            source_ref=f"demo-{index + 1}",
            defaults={
                "ticker": ticker,
                "side": side,
                "price": Decimal(price),
                "quantity": Decimal(quantity),
                "timestamp": start + timedelta(hours=index),
            },
        )
        added += made
    return added


class Command(BaseCommand):
    help = (
        "Create the demo user (never staff), an API token and, on the user's first run, a few "
        "sample trades (safe to run twice: trades deleted later stay deleted). With "
        "DJANGO_DEBUG=0 it does nothing unless --in-production (or DEMO_USER_IN_PRODUCTION=1) asks for it; the user then gets a random password, printed "
        "once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--in-production",
            action="store_true",
            help="create the demo user even with DJANGO_DEBUG=0 (random password)",
        )

    @transaction.atomic
    def handle(self, *args, in_production=False, **options):
        User = get_user_model()
        username = settings.DEMO_USERNAME
        production = not settings.DEBUG
        user = User.objects.filter(username=username).first()
        if user is not None and (user.is_staff or user.is_superuser):
            # Older versions made the demo user a superuser with a published password.
            user.is_staff = user.is_superuser = False
            user.save(update_fields=["is_staff", "is_superuser"])
            self.stdout.write(f"Demo user {username} is no longer staff or superuser.")
        wanted = not production or in_production or settings.DEMO_USER_IN_PRODUCTION
        if production and user is not None and user.check_password(settings.DEMO_PASSWORD):
            # The published password must not open a production server.
            user.set_unusable_password()
            user.save(update_fields=["password"])
            self.stdout.write(f"Demo user {username}: the published password no longer works.")
        if not wanted:
            self.stdout.write(
                "No demo user: DJANGO_DEBUG=0. Run `seed_demo --in-production` (or set "
                "DEMO_USER_IN_PRODUCTION=1) to create one with a random password."
            )
            return
        password_line = "(unchanged)"
        created = False
        if user is None or (production and not user.has_usable_password()):
            password = secrets.token_urlsafe(18) if production else settings.DEMO_PASSWORD
            if user is None:
                user = User.objects.create_user(username=username, password=password)
                created = True
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_line = password + ("   (shown only now)" if production else "")
        elif not production and user.check_password(settings.DEMO_PASSWORD):
            password_line = settings.DEMO_PASSWORD
        live_tokens = user.auth_token_set.filter(
            Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
        )
        if live_tokens.exists():
            token_line = f"(issued before; `manage.py create_api_token {username}` makes another)"
        else:
            _, key = token_issue(user=user)
            token_line = f"{key}   (shown only now)"
        added = _add_sample_trades(user) if created else 0
        self.stdout.write(f"Demo user:  {username}")
        self.stdout.write(f"Password:   {password_line}")
        self.stdout.write(f"API token:  {token_line}")
        self.stdout.write(f"Sample trades added: {added}")
