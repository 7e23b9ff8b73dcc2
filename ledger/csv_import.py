"""Import trades from CSV text with the API's columns, all or nothing.

Shared by ``manage.py import_trades`` and the trades page: both read the same columns, refuse
the same rows with the same messages (each with its line number) and store nothing when any
row is bad.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ledger.models import Trade
from ledger.services import trades_store
from tradepulse.trades import FIELDS, REQUIRED, TradeFieldErrors, clean_trade

BATCH = 5000
MAX_REPORTED = 20


@dataclass
class TradeImportError(Exception):
    """Bad CSV input: ``lines`` are messages such as ``"line 3: price: ..."`` (at most
    :data:`MAX_REPORTED`), ``count`` how many rows were bad in all."""

    lines: list[str]
    count: int

    def __str__(self) -> str:
        if self.count == 0:
            return self.lines[0]
        more = f" (first {MAX_REPORTED} shown)" if self.count > MAX_REPORTED else ""
        return f"{self.count} bad row(s), nothing imported{more}:\n  " + "\n  ".join(self.lines)


def trades_import_csv(
    *,
    owner,
    lines: Iterable[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Store every trade of CSV ``lines`` (a header row, then ticker, side, price, quantity and
    an optional timestamp; other columns such as id or source are ignored, so a CSV download
    re-imports) for ``owner`` and return how many, or raise :class:`TradeImportError` and
    store nothing. ``progress(1)`` is called after each row.
    """
    reader = csv.DictReader(lines)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise TradeImportError([f"line 1: header lacks column(s) {', '.join(missing)}"], 0)
    reader.fieldnames = header
    errors: list[str] = []
    error_count = 0
    stored = 0
    batch: list[dict] = []
    now = timezone.now()
    with transaction.atomic():
        for row in reader:
            line = reader.line_num
            if progress is not None:
                progress(1)
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
                stored += len(trades_store(owner=owner, cleaned=batch, source=Trade.Source.IMPORT))
                batch.clear()
        if error_count:
            raise TradeImportError(errors, error_count)
        if batch:
            stored += len(trades_store(owner=owner, cleaned=batch, source=Trade.Source.IMPORT))
    return stored
