"""``ws/stocks/<ticker>/``: live prices and alerts for one or more tickers over one socket.

Client -> server (JSON text frames of at most ``LIVE_WS_MAX_MESSAGE_BYTES``):

- ``{"type": "auth", "token": "<API token>"}``: the first message, when the socket has no
  session cookie; within ``LIVE_WS_AUTH_TIMEOUT`` seconds (5). Never in the query string.
- ``{"subscribe": ["MSFT", "TSLA"]}`` / ``{"unsubscribe": ["MSFT"]}``: at most
  ``LIVE_WS_MAX_TICKERS`` tickers per message and per socket.
- ``{"type": "ping"}``.

Server -> client:

- ``snapshot``: ticker, price, change_pct, moving_average, timestamp, history
  (``[{"time": epoch seconds, "price": p}, ...]``, the last 5 minutes, one point per
  second), alerts (recent, newest last), status (the provider's, or null). Sent first for
  each ticker watched, and again after a reconnect.
- ``tick``: ticker, price, change_pct (since the UTC day's first price), moving_average
  (5 minutes), timestamp (event time, RFC 3339 UTC), optional volume. At most one per ticker
  per publish interval: the latest price, never a queue of stale ones.
- ``alert``: ticker, direction (up/down), change_pct, reference_price, price,
  window_seconds, timestamp, message, scope (global, or user for the user's own rule).
- ``status``: provider, state (connected/reconnecting/stale), reason, timestamp. ``stale``
  also when the price feed or Redis is away.
- ``subscribed`` / ``unsubscribed``: tickers; ``pong``; ``error``: error (invalid_ticker,
  unauthenticated, too_many_tickers, too_many_sockets, message_too_big, bad_message,
  already_authenticated), reason, and the ticker(s) or close code when there are. One
  message gets at most one error; the socket stays open unless a close code is given.

Close codes: 4400 invalid ticker in the URL, 4401 not authenticated (no session and no
valid token in time), 4408 the client does not read its messages (more than
``LIVE_WS_SEND_BUFFER_BYTES`` waiting), 4429 the user already has ``LIVE_WS_MAX_PER_USER``
sockets open, 1009 a message over ``LIVE_WS_MAX_MESSAGE_BYTES``. The reason is also sent as an
``error`` message just before the close (except 4408), because some servers drop close
reasons.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tradepulse.symbols import InvalidTicker, normalize_ticker

from . import metrics, runtime
from .protocol import dumps

logger = logging.getLogger(__name__)

CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INVALID_TICKER = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SLOW_CLIENT = 4408
CLOSE_TOO_MANY_SOCKETS = 4429
_CLOSE_ERRORS = {
    CLOSE_INVALID_TICKER: "invalid_ticker",
    CLOSE_UNAUTHENTICATED: "unauthenticated",
    CLOSE_TOO_MANY_SOCKETS: "too_many_sockets",
    CLOSE_MESSAGE_TOO_BIG: "message_too_big",
}

# Not a configured alias: the consumer gets no channel of its own; LiveHub fans out
# to sockets for the whole process (see live/hub.py).
NO_CHANNEL_LAYER = "live-hub-delivers"


@database_sync_to_async
def user_for_token(key: str):
    from api.authentication import user_for_key

    found = user_for_key(key) if isinstance(key, str) else None
    return found[0] if found and found[0].is_active else None


class StockPriceConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = NO_CHANNEL_LAYER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id: int | None = None
        self.hub = None
        self._auth_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._ticket: str | None = None
        self._quota = None
        # Outgoing messages wait here for the writer task: the hub never waits for a socket.
        self._outbox: deque[str | tuple[int, str]] = deque()
        self._outbox_bytes = 0
        self._outbox_ready = asyncio.Event()
        self._writer: asyncio.Task | None = None
        self._counted = False

    async def __call__(self, scope, receive, send):
        # Hub deliveries (websocket.send) skip the session middleware's send wrapper, which
        # only acts on http.response.start; everything else goes through it unchanged.
        self._raw_send = getattr(getattr(send, "__self__", None), "real_send", None) or send
        return await super().__call__(scope, receive, send)

    @classmethod
    async def encode_json(cls, content: dict[str, Any]) -> str:
        return dumps(content)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels closes stale database connections through a worker thread before every
        # message (25-40 % of daphne's time here). This consumer touches the database only
        # inside database_sync_to_async, which does that itself, so the round trip is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        await self.accept()
        metrics.WEBSOCKET_CLIENTS.inc()
        self._counted = True
        self._writer = asyncio.create_task(self._write_loop(), name="live-socket-writer")
        raw = self.scope["url_route"]["kwargs"].get("ticker", "")
        try:
            self.first_ticker = normalize_ticker(raw)
        except InvalidTicker as exc:
            self._refuse(CLOSE_INVALID_TICKER, str(exc))
            return
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._start(user)
        else:
            loop = asyncio.get_running_loop()
            self._auth_timer = loop.call_later(
                settings.LIVE_WS_AUTH_TIMEOUT,
                lambda: self._refuse(CLOSE_UNAUTHENTICATED, "authentication timed out"),
            )

    async def _start(self, user) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self.user_id = user.pk
        self.hub = await runtime.get_hub()
        self._quota = runtime.socket_quota()
        self._ticket = await self._quota.acquire(user.pk)
        if self._ticket is None:
            self.hub = None
            self._refuse(
                CLOSE_TOO_MANY_SOCKETS,
                f"At most {self._quota.cap} open sockets per user; close one first.",
            )
            return
        if self._closed:  # went away while the ticket was taken
            await self._release()
            return
        await self.hub.watch(self, self.first_ticker)

    def _refuse(self, code: int, reason: str) -> None:
        """Send the error, then close with ``code`` once what was queued before is sent."""
        if self._closed:
            return
        self._closed = True
        self._enqueue(
            dumps({"type": "error", "error": _CLOSE_ERRORS[code], "reason": reason, "code": code})
        )
        self._enqueue((code, reason))

    async def disconnect(self, code: int) -> None:
        self._closed = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self._writer is not None:
            self._writer.cancel()
        if self._counted:
            metrics.WEBSOCKET_CLIENTS.dec()
            self._counted = False
        if self.hub is not None:
            await self.hub.leave(self)
        await self._release()

    async def _release(self) -> None:
        if self._ticket is not None and self._quota is not None:
            ticket, self._ticket = self._ticket, None
            await self._quota.release(ticket)

    # -- outgoing --------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Queue ``text`` for this socket (the hub's delivery); never waits. A client whose
        unsent messages exceed ``LIVE_WS_SEND_BUFFER_BYTES`` does not read: it is closed."""
        if not self._closed:
            self._enqueue(text)

    async def send_json(self, content: dict[str, Any], close: bool = False) -> None:
        self.send_text(dumps(content))

    def _enqueue(self, item: str | tuple[int, str]) -> None:
        if isinstance(item, str):
            self._outbox_bytes += len(item)
            if self._outbox_bytes > settings.LIVE_WS_SEND_BUFFER_BYTES:
                self._slow_client()
                return
        self._outbox.append(item)
        self._outbox_ready.set()

    def _slow_client(self) -> None:
        logger.warning(
            "live: closing a client of user %s that does not read (%d bytes waiting)",
            self.user_id,
            self._outbox_bytes,
        )
        metrics.SLOW_CLIENTS_CLOSED.inc()
        self._closed = True
        self._outbox.clear()
        self._outbox_bytes = 0
        if self._writer is not None:
            self._writer.cancel()
        # The writer may be stuck in a send the client never reads: close from a task of its
        # own (the server aborts the connection if the close cannot be sent either).
        self._closer = asyncio.ensure_future(self._close(CLOSE_SLOW_CLIENT, "slow client"))

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self._raw_send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception as exc:
            logger.info("live: close of a socket failed: %r", exc)

    async def _write_loop(self) -> None:
        outbox = self._outbox
        try:
            while True:
                while outbox:
                    item = outbox.popleft()
                    if isinstance(item, tuple):
                        await self._close(*item)
                        return
                    self._outbox_bytes -= len(item)
                    await self._raw_send({"type": "websocket.send", "text": item})
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection went away; disconnect() cleans up
            logger.debug("live: socket writer stopped: %r", exc)

    # -- client messages -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if self._closed:
            return
        size = len(text_data) if text_data is not None else len(bytes_data or b"")
        limit = settings.LIVE_WS_MAX_MESSAGE_BYTES
        if size > limit:
            self._refuse(CLOSE_MESSAGE_TOO_BIG, f"Messages are at most {limit} bytes.")
            return
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            if self.user_id is None:
                self._refuse(CLOSE_UNAUTHENTICATED, "authentication required")
            else:
                self._error("bad_message", "Messages must be JSON objects.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if self._closed:
            return
        if self.user_id is None:
            token = content.get("token")
            if content.get("type") != "auth" or not isinstance(token, str) or not token:
                self._refuse(CLOSE_UNAUTHENTICATED, "authentication required")
                return
            user = await user_for_token(token)
            if user is None:
                self._refuse(CLOSE_UNAUTHENTICATED, "invalid token")
                return
            await self._start(user)
            return
        if self.hub is None:
            return
        if "subscribe" in content:
            await self._subscribe(content["subscribe"])
        elif "unsubscribe" in content:
            await self._unsubscribe(content["unsubscribe"])
        elif content.get("type") == "ping":
            self.send_text('{"type":"pong"}')
        elif content.get("type") == "auth":
            self._error("already_authenticated", "This socket is already authenticated.")
        else:
            self._error(
                "bad_message", 'Send {"subscribe": [...]}, {"unsubscribe": [...]} or a ping.'
            )

    def _tickers_in(self, value: Any) -> tuple[list[str], list[tuple[Any, str]]] | None:
        """Normalised tickers and the bad ones; None (after one error) for a bad list."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self._error("bad_message", "Expected a list of tickers.")
            return None
        limit = settings.LIVE_WS_MAX_TICKERS
        if len(value) > limit:
            self._error(
                "too_many_tickers",
                f"At most {limit} tickers per message; this one has {len(value)}.",
            )
            return None
        good, bad = [], []
        for raw in value:
            try:
                ticker = normalize_ticker(raw)
            except InvalidTicker as exc:
                bad.append((raw, str(exc)))
            else:
                if ticker not in good:
                    good.append(ticker)
        if bad:
            raw, reason = bad[0]
            if len(bad) > 1:
                reason = f"{reason} ({len(bad)} invalid tickers in this message)"
            self._error("invalid_ticker", reason, ticker=raw, tickers=[r for r, _ in bad])
        return good, bad

    async def _subscribe(self, value: Any) -> None:
        parsed = self._tickers_in(value)
        if parsed is None:
            return
        tickers, _ = parsed
        current = self.hub.watching(self)
        new = [t for t in tickers if t not in current]
        limit = settings.LIVE_WS_MAX_TICKERS
        if len(current) + len(new) > limit:
            self._error("too_many_tickers", f"At most {limit} tickers per connection.")
            return
        if new:
            self.send_text(dumps({"type": "subscribed", "tickers": new}))
        for ticker in new:
            await self.hub.watch(self, ticker)

    async def _unsubscribe(self, value: Any) -> None:
        parsed = self._tickers_in(value)
        if parsed is None:
            return
        tickers, _ = parsed
        for ticker in tickers:
            await self.hub.unwatch(self, ticker)
        self.send_text(dumps({"type": "unsubscribed", "tickers": tickers}))

    def _error(self, error: str, reason: str, *, ticker: Any = None, tickers=None) -> None:
        message: dict[str, Any] = {"type": "error", "error": error, "reason": reason}
        if ticker is not None:
            message["ticker"] = ticker
        if tickers is not None:
            message["tickers"] = tickers
        self.send_text(dumps(message))
