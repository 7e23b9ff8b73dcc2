"""Metrics of the API layer (prometheus-client; multiprocess-safe, see config/metrics.py)."""

from prometheus_client import Counter

THROTTLE_FAIL_OPEN = Counter(
    "tradepulse_throttle_fail_open_total",
    "Requests let through without a rate check because the throttle's cache was unavailable",
    ["scope"],
)
