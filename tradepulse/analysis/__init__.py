"""Trade-CSV schema and the daily trade analysis (standard library only).

Shared by the exporter (``format_row``), the AWS Lambda and the web app (``run_analysis``).
"""

from tradepulse.analysis.daily import RESULT_VERSION, VWAP_PLACES, analyse
from tradepulse.analysis.runner import AnalysisOutcome, InvalidDate, parse_day, run_analysis
from tradepulse.analysis.schema import (
    HEADER,
    HEADER_LINE,
    POSTGRES_TIMESTAMP_SQL,
    BadHeader,
    MalformedRow,
    TradeRow,
    format_decimal,
    format_row,
    format_timestamp,
    iter_trades,
    parse_timestamp,
)
from tradepulse.analysis.storage import (
    AnalysisStorage,
    LocalStorage,
    NotFound,
    S3Storage,
    StorageError,
    analysis_key,
    trades_key,
)

__all__ = [
    "HEADER",
    "HEADER_LINE",
    "POSTGRES_TIMESTAMP_SQL",
    "RESULT_VERSION",
    "VWAP_PLACES",
    "AnalysisOutcome",
    "AnalysisStorage",
    "BadHeader",
    "InvalidDate",
    "LocalStorage",
    "MalformedRow",
    "NotFound",
    "S3Storage",
    "StorageError",
    "TradeRow",
    "analyse",
    "analysis_key",
    "format_decimal",
    "format_row",
    "format_timestamp",
    "iter_trades",
    "parse_day",
    "parse_timestamp",
    "run_analysis",
    "trades_key",
]
