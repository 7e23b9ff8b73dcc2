"""Token checks remembered per web process on PostgreSQL, forgotten on the database's word.

Every API request checks its token: one query for the token's row and its user. On PostgreSQL a
process remembers what that query found, by the token's digest, for at most
``API_TOKEN_CACHE_SECONDS``, and forgets everything as soon as any token or user changes:

- The database tells every process. Triggers on the token and user tables (migration
  ``api.0002``) send a notice on channel ``tradepulse_auth`` after every ``UPDATE``,
  ``DELETE`` or ``TRUNCATE``; each process has one connection that ``LISTEN``\\ s for it. A
  token revoked anywhere (another process, ``manage.py revoke_api_tokens``, plain SQL) stops
  working once the notice arrives, right after the commit.
- Revoking through TradePulse (``api.tokens``, so logout and ``revoke_api_tokens``) and saving
  or deleting a user through the ORM forget at once in that process, and again at the commit,
  without waiting for the notice.
- Nothing is remembered unless the notices demonstrably arrive: the listener sends itself one
  every ``PING_SECONDS``, and the cache is used only while the last came back less than
  ``STALE_SECONDS`` ago. So at start, during a database outage, on a connection that hangs or
  one through which notices do not pass (a pooler in transaction mode), and when the triggers
  are missing, every check queries the database, as without a cache.
- A check that began before a change cannot store what it read after the change is known: the
  entries carry the generation they were read in, and every change starts a new one.

Only successful checks are remembered (an unknown key always queries the database), at most
``MAX_ENTRIES``, and only in web processes (``config.startup.settle``, which the ASGI and
WSGI applications run, calls :meth:`TokenCache.use_in_this_process`). ``API_TOKEN_CACHE_SECONDS=0`` turns the cache off;
SQLite has no notices, so there it is always off.
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
TRIGGER = "tradepulse_auth_changed"
MAX_ENTRIES = 10_000
# The listener sends itself a notice this often; the cache is used only while the last one came
# back less than STALE_SECONDS ago, so a connection that hangs, or one through which notices do
# not arrive (a pooler in transaction mode), turns it off within STALE_SECONDS.
PING_SECONDS = 1.0
STALE_SECONDS = 3.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)


class TokenCache:
    """What successful token checks found, by the token's digest; empty unless listening."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, float]] = {}
        self._generation = 0
        self._listening = False
        self._heard = float("-inf")
        self._in_server = False
        self._started = False
        self._seconds = 0.0
        # A forked child has no listener thread (and maybe a lock another thread held).
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._entries = {}
        self._listening = False
        self._heard = float("-inf")
        self._started = False

    # -- the request side ----------------------------------------------------------------

    def use_in_this_process(self) -> None:
        """Called by the web server's application module: only web processes cache (a
        management command or a worker that checks one token keeps no listener)."""
        self._in_server = True

    def enabled(self) -> bool:
        """Whether checks use the cache in this process; starts the listener on first use."""
        if not self._started:
            if not self._in_server or getattr(settings, "API_TOKEN_CACHE_SECONDS", 0) <= 0:
                return False
            if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
                return False
            self._start()
        return True

    def _usable(self, now: float) -> bool:
        return self._listening and now - self._heard <= STALE_SECONDS

    def get(self, digest: str) -> tuple[Any, int | None]:
        """``(found, generation)``: what was stored for ``digest`` (None if nothing, or too
        old), and the generation a check that queries now must give :meth:`put` (None: do
        not store)."""
        now = time.monotonic()
        with self._lock:
            if not self._usable(now):
                return None, None
            entry = self._entries.get(digest)
            if entry is not None and now - entry[1] <= self._seconds:
                return entry[0], self._generation
            return None, self._generation

    def put(self, digest: str, found: Any, generation: int | None) -> None:
        """Remember ``found`` for ``digest`` unless something changed since ``generation``."""
        now = time.monotonic()
        with self._lock:
            if not self._usable(now) or generation != self._generation:
                return
            if digest not in self._entries and len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()  # mostly expired ones; the live ones are read again
            self._entries[digest] = (found, now)

    def forget(self) -> None:
        """Forget everything: a token or a user changed."""
        with self._lock:
            self._start_generation()

    def _start_generation(self) -> None:
        """Drop every entry, and refuse what checks read before now (under the lock)."""
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
        params.update(
            autocommit=True,
            application_name="tradepulse token cache",
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=10_000,
        )
        threading.Thread(
            target=self._listen, args=(params,), name="token-cache-listener", daemon=True
        ).start()

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._start_generation()
            self._listening = listening
            self._heard = float("-inf")

    def _listen(self, params: dict[str, Any]) -> None:
        failures = 0
        while True:
            try:
                with psycopg.connect(**params) as conn:
                    triggers = conn.execute(
                        "SELECT count(*) FROM pg_trigger WHERE tgname = %s", [TRIGGER]
                    ).fetchone()
                    if not triggers or triggers[0] < 2:
                        raise RuntimeError(f"the triggers {TRIGGER} are missing: run migrate")
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._set_listening(True)
                    self._serve(conn, failures)
            except Exception as exc:  # noqa: BLE001 - any failure: stop caching, reconnect
                self._set_listening(False)
                if failures == 0:
                    logger.warning(
                        "token cache: off until the database can be listened to again (%s)",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc),
                    )
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1

    def _serve(self, conn: psycopg.Connection, failures: int) -> None:
        backend = conn.info.backend_pid
        announced = False
        while True:
            conn.execute("SELECT pg_notify(%s, 'ping')", [CHANNEL])
            for notice in conn.notifies(timeout=PING_SECONDS):
                if notice.pid == backend and notice.payload == "ping":
                    with self._lock:
                        self._heard = time.monotonic()
                    if not announced:
                        announced = True
                        if failures:
                            logger.warning("token cache: listening again for changes")
                        else:
                            logger.info("token cache: listening for token and user changes")
                else:
                    self.forget()


cache = TokenCache()


def forget_changed(sender, created: bool = False, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """``post_save`` and ``post_delete`` of users: see :func:`forget_now_and_at_commit`. A new
    row changes no remembered check."""
    if not created:
        forget_now_and_at_commit(using)


def forget_now_and_at_commit(using: str = DEFAULT_DB_ALIAS) -> None:
    """A token or user has just changed through this process: forget now, so that this
    thread's next check reads the change, and again at the commit, so that no other thread keeps what
    it read before the change was committed (the database's notice follows too)."""
    cache.forget()
    transaction.on_commit(cache.forget, using=using)
