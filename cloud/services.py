"""Writes of the cloud app: exporting one UTC day of trades to a destination."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import NamedTuple

from cloud.destinations import ExportDestination
from cloud.selectors import ExportMethod, day_csv_blocks, day_has_trades
from tradepulse.analysis import trades_key


class ExportResult(NamedTuple):
    """What one day's export wrote.

    ``rows`` is 0 (and ``bytes`` 0, ``sha256`` ``None``) for a day without trades, for which
    nothing is written. ``key`` is the object's full location (folder path or ``s3://`` URL).
    """

    day: date
    rows: int
    bytes: int
    key: str
    sha256: str | None

    @property
    def written(self) -> bool:
        return self.rows > 0


def export_day(
    day: date,
    destination: ExportDestination,
    *,
    method: ExportMethod | None = None,
    on_rows: Callable[[int], object] | None = None,
) -> ExportResult:
    """Export the trades of the UTC day ``day`` to ``destination`` as ``YYYY/MM/DD/trades.csv``.

    All users' trades, ordered by timestamp then id, with the fixed header: the same data
    always gives the same bytes, and a re-run replaces the object with identical content. The
    object appears whole, with its row count and SHA-256 as metadata, or not at all: on any
    failure ``ExportError`` is raised and the earlier object stays as it was. A day without
    trades writes nothing. ``on_rows(n)`` is called as rows stream (for progress bars).
    """
    key = trades_key(day)
    where = destination.describe(key)
    if not day_has_trades(day):
        return ExportResult(day, 0, 0, where, None)

    digest = hashlib.sha256()
    size = rows = 0
    with destination.upload(key) as upload:
        for block, count in day_csv_blocks(day, method=method):
            digest.update(block)
            upload.write(block)
            size += len(block)
            rows += count
            if on_rows is not None and count:
                on_rows(count)
        if rows == 0:
            # The day's trades were deleted since the check above; leave the destination be.
            return ExportResult(day, 0, 0, where, None)
        sha256 = digest.hexdigest()
        upload.complete(rows=rows, sha256=sha256)
    return ExportResult(day, rows, size, where, sha256)
