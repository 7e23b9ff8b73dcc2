"""Import trades from a CSV file with the API's columns, all or nothing."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from ledger.models import Trade
from ledger.services import trades_store
from tradepulse.trades import FIELDS, REQUIRED, TradeFieldErrors, clean_trade

BATCH = 5000
MAX_REPORTED = 20


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
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [f for f in REQUIRED if f not in header]
        if missing:
            raise CommandError(f"line 1: header lacks column(s) {', '.join(missing)}")
        reader.fieldnames = header
        errors: list[str] = []
        error_count = 0
        stored = 0
        batch: list[dict] = []
        now = timezone.now()
        progress = tqdm(
            total=total, unit="rows", file=sys.stderr, disable=no_progress or total < 1000
        )
        try:
            with transaction.atomic():
                for row in reader:
                    line = reader.line_num
                    progress.update(1)
                    if None in row:
                        error_count += 1
                        if len(errors) < MAX_REPORTED:
                            errors.append(f"line {line}: more values than header columns")
                        continue
                    data = {k: (row.get(k) or "").strip() for k in FIELDS if k in row}
                    try:
                        cleaned = clean_trade(data, now=now)
                    except TradeFieldErrors as exc:
                        error_count += 1
                        if len(errors) < MAX_REPORTED:
                            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
                            errors.append(f"line {line}: {detail}")
                        continue
                    if error_count:
                        continue  # keep checking the rest, store nothing
                    batch.append(cleaned)
                    if len(batch) >= BATCH:
                        stored += len(
                            trades_store(owner=owner, cleaned=batch, source=Trade.Source.IMPORT)
                        )
                        batch.clear()
                if error_count:
                    more = f" (first {MAX_REPORTED} shown)" if error_count > MAX_REPORTED else ""
                    raise CommandError(
                        f"{error_count} bad row(s), nothing imported{more}:\n  "
                        + "\n  ".join(errors)
                    )
                if batch:
                    stored += len(
                        trades_store(owner=owner, cleaned=batch, source=Trade.Source.IMPORT)
                    )
        finally:
            progress.close()
        return stored
