"""Run one day's analysis against a storage: read the CSV, analyse it, save the JSON.

This is the single entry point shared by the AWS Lambda handler and the web app's in-process
("local") analysis backend; both only translate its ``(status_code, message)`` outcome.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import NamedTuple

from tradepulse.analysis.daily import analyse
from tradepulse.analysis.schema import MalformedRow
from tradepulse.analysis.storage import (
    AnalysisStorage,
    NotFound,
    StorageError,
    analysis_key,
    trades_key,
)

logger = logging.getLogger(__name__)

_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidDate(ValueError):
    """The date given to the analysis is missing or not a ``YYYY-MM-DD`` calendar date."""


class AnalysisOutcome(NamedTuple):
    """HTTP-style status of a run and a message for people: 200, 400, 404, 422 or 502."""

    status_code: int
    message: str


def parse_day(value: object) -> date:
    """The calendar date in ``value`` (``YYYY-MM-DD``), or ``InvalidDate`` saying what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidDate("Missing date: give the day to analyse as date=YYYY-MM-DD")
    if not isinstance(value, str) or not _DATE_PATTERN.fullmatch(value.strip()):
        raise InvalidDate(f"Invalid date {value!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidDate(f"Invalid date {value!r}: no such calendar day") from None


def run_analysis(date_str: object, storage: AnalysisStorage) -> AnalysisOutcome:
    """Analyse ``storage``'s trade CSV of the day ``date_str`` and save the result JSON.

    Reads ``YYYY/MM/DD/trades.csv``, writes ``analysis/YYYY/MM/DD/analysis.json`` (replacing an
    earlier result) in one atomic write, and only after the whole file was read and found
    valid, so a failed run never leaves a partial or half-updated result. Outcomes:

    - 200 "Analysis saved for 2025-01-20"
    - 400 the date is missing or invalid
    - 404 there is no trade file for that day
    - 422 the trade file is malformed (the message names the line and field)
    - 502 the storage failed (the message gives the cause)
    """
    try:
        day = parse_day(date_str)
    except InvalidDate as error:
        return AnalysisOutcome(400, str(error))

    source = trades_key(day)
    try:
        with storage.open_text(source) as lines:
            result = analyse(lines, day)
        payload = json.dumps(result, indent=2, sort_keys=False).encode() + b"\n"
        storage.put_bytes(
            analysis_key(day),
            payload,
            content_type="application/json",
            metadata={"trade-date": day.isoformat(), "row-count": str(result["row_count"])},
        )
    except NotFound:
        return AnalysisOutcome(404, f"No trades file for {day}: {storage.describe(source)}")
    except MalformedRow as error:
        return AnalysisOutcome(422, f"Malformed trades file for {day}: {error}")
    except StorageError as error:
        logger.warning("analysis of %s failed in storage: %s", day, error)
        return AnalysisOutcome(502, f"Storage error for {day}: {error}")
    logger.info("analysis of %s saved: %d rows", day, result["row_count"])
    return AnalysisOutcome(200, f"Analysis saved for {day}")
