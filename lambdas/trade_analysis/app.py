"""AWS Lambda entry point (``app.handler``): analyse one day's exported trades in S3.

Invoked either directly with ``{"date": "2025-01-20"}`` or through API Gateway as
``GET /trade-analysis?date=2025-01-20``. Configuration comes from the environment:
``TRADES_BUCKET`` (required) and ``TRADES_PREFIX`` (optional key prefix). The work itself is
``tradepulse.analysis.run_analysis``; this module only translates events and responses.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from typing import Any

from tradepulse.analysis import AnalysisOutcome, S3Storage, run_analysis

logger = logging.getLogger("trade_analysis")
# Lambda's root logger only passes warnings; outcomes of runs are worth an INFO line.
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


@cache
def s3_client() -> Any:
    """One boto3 S3 client per execution environment, reused across invocations.

    boto3 reads region, credentials and ``AWS_ENDPOINT_URL`` from the environment.
    """
    import boto3

    return boto3.client("s3")


def is_api_gateway_event(event: Any) -> bool:
    """True for an API Gateway proxy event (REST v1 or HTTP API v2), False for a direct call."""
    return isinstance(event, dict) and any(
        key in event for key in ("requestContext", "httpMethod", "queryStringParameters")
    )


def requested_date(event: Any) -> object:
    if not isinstance(event, dict):
        return None
    if is_api_gateway_event(event):
        return (event.get("queryStringParameters") or {}).get("date")
    return event.get("date")


def analyse_event(event: Any) -> AnalysisOutcome:
    bucket = os.environ.get("TRADES_BUCKET", "").strip()
    if not bucket:
        logger.error("TRADES_BUCKET is not set")
        return AnalysisOutcome(500, "The function is misconfigured: TRADES_BUCKET is not set")
    storage = S3Storage(bucket, os.environ.get("TRADES_PREFIX", ""), s3_client())
    return run_analysis(requested_date(event), storage)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda handler; the response shape follows the kind of event (see the module doc)."""
    outcome = analyse_event(event)
    logger.info("trade analysis: %d %s", outcome.status_code, outcome.message)
    body = {"statusCode": outcome.status_code, "message": outcome.message}
    if is_api_gateway_event(event):
        return {
            "statusCode": outcome.status_code,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body),
        }
    return body
