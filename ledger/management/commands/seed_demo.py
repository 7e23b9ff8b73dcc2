from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

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
        "Create the demo user, its API token and, on its first run, a few sample trades "
        "(safe to run twice: trades deleted later stay deleted)."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        username, password = settings.DEMO_USERNAME, settings.DEMO_PASSWORD
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = True
            user.is_superuser = True
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        added = _add_sample_trades(user) if created else 0
        self.stdout.write(f"Demo user:  {username}")
        if user.check_password(password):
            self.stdout.write(f"Password:   {password}")
        else:
            self.stdout.write("Password:   (changed since the demo user was created)")
        self.stdout.write(f"API token:  {token.key}")
        self.stdout.write(f"Sample trades added: {added}")
