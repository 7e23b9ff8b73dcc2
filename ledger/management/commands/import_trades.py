"""Import trades from a CSV file with the API's columns, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ledger.csv_import import TradeImportError, trades_import_csv


class Command(BaseCommand):
    help = (
        "Import trades from FILE.csv (columns ticker,side,price,quantity[,timestamp]; other "
        "columns such as id or source are ignored, so a CSV download re-imports). "
        "Either every row is stored or none is; bad rows are reported by line number."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row")
        parser.add_argument(
            "--user",
            help="owner of the imported trades (default: the demo user, DEMO_USERNAME)",
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, file: str, user: str | None, no_progress: bool, **options):
        username = user or settings.DEMO_USERNAME
        User = get_user_model()
        try:
            owner = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(
                f"user {username!r} does not exist (create it with create_api_token {username})"
            ) from None
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                total_lines = sum(1 for _ in handle) - 1
                handle.seek(0)
                stored = self._import(handle, owner, max(total_lines, 0), no_progress)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text ({exc.reason})") from None
        self.stdout.write(f"Imported {stored} trades for {owner.username} from {file}.")

    def _import(self, handle, owner, total: int, no_progress: bool) -> int:
        progress = tqdm(
            total=total, unit="rows", file=sys.stderr, disable=no_progress or total < 1000
        )
        try:
            return trades_import_csv(owner=owner, lines=handle, progress=progress.update)
        except TradeImportError as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
