"""Rate limits counted in fixed windows: one cache increment per request.

DRF's stock throttles keep every request time of the window in one cache entry and rewrite it on
each request, so their cost grows with the allowed rate (6,000 timestamps at 6,000/min). These
keep a counter per window instead; a burst at a window's edge may reach twice the rate, which is
the usual price of fixed windows.

They fail open: while their cache (Redis) is unavailable every request is let through, each one
counted in ``tradepulse_throttle_fail_open_total`` and the outage logged (at most every 10 s per
process), so that an outage of the cache never turns into errors for clients.
"""

from __future__ import annotations

import logging
import time

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from api.client import client_ip
from api.metrics import THROTTLE_FAIL_OPEN

logger = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0
_last_logged = 0.0


def _fail_open(scope: str, exc: Exception) -> bool:
    global _last_logged
    THROTTLE_FAIL_OPEN.labels(scope).inc()
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        logger.warning("throttle cache unavailable, requests pass unthrottled: %s", first_line)
    return True


class FixedWindowMixin:
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_end = (window + 1) * self.duration
        self.now = now
        window_key = f"{key}:{window}"
        try:
            count = self._count(window_key)
        except Exception as exc:  # the cache is away: let the request through, count it
            return _fail_open(self.scope, exc)
        return count <= self.num_requests

    def _count(self, window_key: str) -> int:
        count_in_window = getattr(self.cache, "count_in_window", None)
        if count_in_window is not None:  # both caches of config/cache.py: one step
            return count_in_window(window_key, self.duration + 1)
        # Any other cache an operator configures: add, then incr.
        if self.cache.add(window_key, 1, self.duration + 1):
            return 1
        try:
            return self.cache.incr(window_key)
        except ValueError:  # expired between add() and incr()
            self.cache.set(window_key, 1, self.duration + 1)
            return 1

    def wait(self):
        return max(1.0, self.window_end - self.now)

    def get_ident(self, request):
        # DRF's own reads X-Forwarded-For from anyone; see api.client.
        return client_ip(request)


class AnonWindowThrottle(FixedWindowMixin, AnonRateThrottle):
    """Anonymous requests per client address (scope ``anon``)."""


class UserWindowThrottle(FixedWindowMixin, UserRateThrottle):
    """Authenticated requests per user (scope ``user``)."""
