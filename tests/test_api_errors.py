"""Every domain error carries its own HTTP answer; the one handler reads it."""

from __future__ import annotations

import pytest

import api.errors
from algo.errors import FieldError, MarketDataUnavailable, RunNotReady
from cloud.exceptions import AnalysisBackendError, AnalysisTimeout, InvalidDestination
from ledger.api.views import BulkValidationError
from ledger.idempotency import KeyInUse
from live.api.views import AlertRulesInvalid
from tradepulse.symbols import InvalidTicker
from tradepulse.trades import TradeFieldErrors


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (TradeFieldErrors({"price": ["bad"]}), 400, {"price": ["bad"]}),
        (InvalidTicker("'$' is not a symbol"), 400, {"ticker": ["'$' is not a symbol"]}),
        (
            BulkValidationError([{"index": 3, "side": ["bad"]}]),
            400,
            {"errors": [{"index": 3, "side": ["bad"]}]},
        ),
        (AlertRulesInvalid([{"index": 0}]), 400, {"rules": [{"index": 0}]}),
        (KeyInUse("in use"), 409, {"detail": "in use", "header": "Idempotency-Key"}),
        (FieldError("fast", "must be below slow"), 400, {"fast": ["must be below slow"]}),
        (MarketDataUnavailable("offline"), 502, {"detail": "offline", "field": "ticker"}),
        (RunNotReady("queued"), 409, {"detail": "queued"}),
        (AnalysisTimeout("slow"), 504, {"statusCode": 504, "message": "slow"}),
        (AnalysisBackendError("down"), 502, {"statusCode": 502, "message": "down"}),
        (InvalidDestination("ftp://x"), 502, {"statusCode": 502, "message": "ftp://x"}),
    ],
)
def test_the_handler_answers_what_the_error_carries(error, status, body):
    response = api.errors.exception_handler(error, {})
    assert (response.status_code, response.data) == (status, body)


def test_there_is_no_registry_to_fill():
    assert not hasattr(api.errors, "register")
    assert not hasattr(api.errors, "DOMAIN_ERRORS")
