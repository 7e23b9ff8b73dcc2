"""What a server process does once, after Django is set up and before it takes requests."""

from __future__ import annotations

import gc
import sys


def settle() -> None:
    """Import every view now, take what start-up built out of the collector's full passes, and
    set how long a thread may hold the interpreter lock while another waits for it.

    Django imports views on the first request; doing it here keeps that cost off a user's
    request. ``gc.freeze()`` then moves the modules, classes and settings (long-lived, never
    garbage) to a generation that full collections skip, so a full collection walks only what
    requests allocated and no request pays tens of milliseconds for it.

    A request thread back from the database waits for the lock while another thread runs
    Python; by default for up to 5 ms, during which its next query is not sent.
    ``GIL_SWITCH_INTERVAL_MS`` (1) shortens that wait (BENCHMARKS.md).

    Web processes remember token checks (``api.token_cache``); other processes do not. The
    query parameters each operation declares (``api.query_params``) are read from the OpenAPI
    document now, not on the first request.
    """
    from django.conf import settings
    from django.urls import get_resolver

    from api.query_params import declared
    from api.token_cache import cache as token_cache

    get_resolver().url_patterns  # noqa: B018 - imports every URLconf and view module
    declared()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_MS / 1000)
    token_cache.use_in_this_process()
