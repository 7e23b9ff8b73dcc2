"""Rate limits counted in fixed windows: one cache increment per request.

DRF's stock throttles keep every request time of the window in one cache entry and rewrite it on
each request, so their cost grows with the allowed rate (6,000 timestamps at 6,000/min). These
keep a counter per window instead; a burst at a window's edge may reach twice the rate, which is
the usual price of fixed windows.
"""

from __future__ import annotations

import time

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from api.client import client_ip


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
        if self.cache.add(window_key, 1, self.duration + 1):
            count = 1
        else:
            try:
                count = self.cache.incr(window_key)
            except ValueError:  # expired between add() and incr()
                self.cache.set(window_key, 1, self.duration + 1)
                count = 1
        return count <= self.num_requests

    def wait(self):
        return max(1.0, self.window_end - self.now)

    def get_ident(self, request):
        # DRF's own reads X-Forwarded-For from anyone; see api.client.
        return client_ip(request)


class AnonWindowThrottle(FixedWindowMixin, AnonRateThrottle):
    """Anonymous requests per client address (scope ``anon``)."""


class UserWindowThrottle(FixedWindowMixin, UserRateThrottle):
    """Authenticated requests per user (scope ``user``)."""
