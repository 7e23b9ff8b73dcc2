"""Token checks remembered per web process on PostgreSQL, forgotten on the database's word.

Every API request checks its token: one query for the token's row and its user. On PostgreSQL a
process remembers what that query found, by the token's digest, for at most
``API_TOKEN_CACHE_SECONDS``, and forgets everything as soon as any token or user changes:

- The database tells every process. Triggers on the token and user tables (migration
  ``api.0002``) send a notice on channel ``tradepulse_auth`` after every ``UPDATE``,
  ``DELETE`` or ``TRUNCATE``; each process has one connection that ``LISTEN``\\ s for it. A
  token revoked anywhere (another process, ``manage.py revoke_api_tokens``, plain SQL) stops
  working once the notice arrives: on one machine, a fraction of a millisecond after the
  commit.
- Changes made through the ORM in this process also forget at once, and again at their commit
  (signals below), without waiting for the notice.
- Nothing is remembered while that connection is not listening (at start, during a database
  outage, until it listens again): every check queries the database then, as without a cache.
  A silent connection is pinged every ``PING_SECONDS``.
- A check that began before a change cannot store what it read after the change is known: the
  entries carry the generation they were read in, and every change starts a new one.

Only successful checks are remembered (an unknown key always queries the database), at most
``MAX_ENTRIES``. ``API_TOKEN_CACHE_SECONDS=0`` turns the cache off; SQLite has no notices, so
there it is always off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger("tradepulse.auth")

CHANNEL = "tradepulse_auth"
MAX_ENTRIES = 10_000
PING_SECONDS = 5.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


class TokenCache:
    """What successful token checks found, by the token's digest; empty unless listening."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, float]] = {}
        self._generation = 0
        self._listening = False
        self._started = False
        self._seconds = 0.0
        # A forked child has no listener thread (and maybe a lock another thread held).
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._entries = {}
        self._listening = False
        self._started = False

    # -- the request side ----------------------------------------------------------------

    def enabled(self) -> bool:
        """Whether checks use the cache in this process; starts the listener on first use."""
        if not self._started:
            seconds = getattr(settings, "API_TOKEN_CACHE_SECONDS", 0)
            if seconds <= 0 or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
                return False
            self._start()
        return True

    def get(self, digest: str) -> tuple[Any, int | None]:
        """``(found, generation)``: what was stored for ``digest`` (None if nothing, or too
        old), and the generation a check that queries now must give :meth:`put` (None: do
        not store)."""
        with self._lock:
            if not self._listening:
                return None, None
            entry = self._entries.get(digest)
            if entry is not None and time.monotonic() - entry[1] <= self._seconds:
                return entry[0], self._generation
            return None, self._generation

    def put(self, digest: str, found: Any, generation: int | None) -> None:
        """Remember ``found`` for ``digest`` unless something changed since ``generation``."""
        with self._lock:
            if (
                self._listening
                and generation == self._generation
                and (digest in self._entries or len(self._entries) < MAX_ENTRIES)
            ):
                self._entries[digest] = (found, time.monotonic())

    def forget(self) -> None:
        """Forget everything: a token or a user changed."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    # -- the listener ----------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self._seconds = float(settings.API_TOKEN_CACHE_SECONDS)
        params = connections[DEFAULT_DB_ALIAS].get_connection_params()
        params.update(autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=10)
        params.update(keepalives_interval=5, keepalives_count=3)
        threading.Thread(
            target=self._listen, args=(params,), name="token-cache-listener", daemon=True
        ).start()

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._listening = listening

    def _listen(self, params: dict[str, Any]) -> None:
        failures = 0
        while True:
            try:
                with psycopg.connect(**params) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._set_listening(True)
                    if failures:
                        logger.warning("token cache: listening again for changes")
                    else:
                        logger.info("token cache: listening for token and user changes")
                    failures = 0
                    while True:
                        for _ in conn.notifies(timeout=PING_SECONDS):
                            self.forget()
                        conn.execute("SELECT 1")
            except Exception as exc:  # noqa: BLE001 - any failure: stop caching, reconnect
                self._set_listening(False)
                if failures == 0:
                    logger.warning(
                        "token cache: off until the database can be listened to again (%s)",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc),
                    )
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1


cache = TokenCache()


def forget_changed(sender, created: bool = False, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """``post_save`` and ``post_delete`` of tokens and users: forget now, so that this thread's
    next check reads the change, and again at the commit, so that no other thread keeps what
    it read before the change was committed. A new row changes no remembered check."""
    if created:
        return
    cache.forget()
    transaction.on_commit(cache.forget, using=using)
