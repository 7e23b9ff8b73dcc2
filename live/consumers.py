"""``ws/stocks/<ticker>/``: live prices and alerts for one or more tickers over one socket.

Client -> server (JSON text frames):

- ``{"type": "auth", "token": "<API token>"}``: the first message, when the socket has no
  session cookie; within ``LIVE_WS_AUTH_TIMEOUT`` seconds (5). Never in the query string.
- ``{"subscribe": ["MSFT", "TSLA"]}`` / ``{"unsubscribe": ["MSFT"]}``.
- ``{"type": "ping"}``.

Server -> client:

- ``snapshot``: ticker, price, change_pct, moving_average, timestamp, history
  (``[{"time": epoch seconds, "price": p}, ...]``, the last 5 minutes, one point per
  second), alerts (recent, newest last), status (the provider's, or null). Sent first for
  each ticker watched, and again after a reconnect.
- ``tick``: ticker, price, change_pct (since the UTC day's first price), moving_average
  (5 minutes), timestamp (event time, ISO 8601 UTC), optional volume. At most one per ticker
  per publish interval: the latest price, never a queue of stale ones.
- ``alert``: ticker, direction (up/down), change_pct, reference_price, price,
  window_seconds, timestamp, message, scope (global, or user for the user's own rule).
- ``status``: provider, state (connected/reconnecting/stale), reason, timestamp.
- ``subscribed`` / ``unsubscribed``: tickers; ``pong``; ``error``: error (invalid_ticker,
  unauthenticated, too_many_tickers, bad_message, already_authenticated), reason, and the
  ticker or close code when there is one. A bad ticker in a subscribe message is an error
  message; the socket stays open for the others.

Close codes: 4400 invalid ticker in the URL, 4401 not authenticated (no session and no
valid token in time). The reason is also sent as an ``error`` message just before the close,
because some servers (daphne) drop close reasons.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tradepulse.symbols import InvalidTicker, normalize_ticker

from . import runtime
from .protocol import dumps

logger = logging.getLogger(__name__)

CLOSE_INVALID_TICKER = 4400
CLOSE_UNAUTHENTICATED = 4401
_CLOSE_ERRORS = {CLOSE_INVALID_TICKER: "invalid_ticker", CLOSE_UNAUTHENTICATED: "unauthenticated"}

# Not a configured alias: the consumer gets no channel of its own; LiveHub fans out
# to sockets for the whole process (see live/hub.py).
NO_CHANNEL_LAYER = "live-hub-delivers"


@database_sync_to_async
def user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except (Token.DoesNotExist, ValueError):
        return None
    return token.user if token.user.is_active else None


class StockPriceConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = NO_CHANNEL_LAYER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id: int | None = None
        self.hub = None
        self._auth_timer: asyncio.TimerHandle | None = None
        self._closed = False

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
        raw = self.scope["url_route"]["kwargs"].get("ticker", "")
        try:
            self.first_ticker = normalize_ticker(raw)
        except InvalidTicker as exc:
            await self._refuse(CLOSE_INVALID_TICKER, str(exc))
            return
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._start(user)
        else:
            loop = asyncio.get_running_loop()
            self._auth_timer = loop.call_later(
                settings.LIVE_WS_AUTH_TIMEOUT,
                lambda: asyncio.ensure_future(
                    self._refuse(CLOSE_UNAUTHENTICATED, "authentication timed out")
                ),
            )

    async def _start(self, user) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self.user_id = user.pk
        self.hub = await runtime.get_hub()
        await self.hub.watch(self, self.first_ticker)

    async def _refuse(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        await self.send_json(
            {"type": "error", "error": _CLOSE_ERRORS[code], "reason": reason, "code": code}
        )
        await self.close(code=code, reason=reason)

    async def disconnect(self, code: int) -> None:
        self._closed = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.hub is not None:
            await self.hub.leave(self)

    # -- hub delivery ----------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        if not self._closed:
            await self._raw_send({"type": "websocket.send", "text": text})

    # -- client messages -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            if self.user_id is None:
                await self._refuse(CLOSE_UNAUTHENTICATED, "authentication required")
            else:
                await self._error("bad_message", "Messages must be JSON objects.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if self._closed:
            return
        if self.user_id is None:
            token = content.get("token")
            if content.get("type") != "auth" or not isinstance(token, str) or not token:
                await self._refuse(CLOSE_UNAUTHENTICATED, "authentication required")
                return
            user = await user_for_token(token)
            if user is None:
                await self._refuse(CLOSE_UNAUTHENTICATED, "invalid token")
                return
            await self._start(user)
            return
        if "subscribe" in content:
            await self._subscribe(content["subscribe"])
        elif "unsubscribe" in content:
            await self._unsubscribe(content["unsubscribe"])
        elif content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        elif content.get("type") == "auth":
            await self._error("already_authenticated", "This socket is already authenticated.")
        else:
            await self._error(
                "bad_message", 'Send {"subscribe": [...]}, {"unsubscribe": [...]} or a ping.'
            )

    def _tickers_in(self, value: Any) -> tuple[list[str], list[tuple[Any, str]]]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return [], [(value, "Expected a list of tickers.")]
        good, bad = [], []
        for raw in value:
            try:
                ticker = normalize_ticker(raw)
            except InvalidTicker as exc:
                bad.append((raw, str(exc)))
            else:
                if ticker not in good:
                    good.append(ticker)
        return good, bad

    async def _subscribe(self, value: Any) -> None:
        tickers, bad = self._tickers_in(value)
        for raw, reason in bad:
            await self._error("invalid_ticker", reason, ticker=raw)
        current = self.hub.watching(self)
        new = [t for t in tickers if t not in current]
        limit = settings.LIVE_WS_MAX_TICKERS
        if len(current) + len(new) > limit:
            await self._error("too_many_tickers", f"At most {limit} tickers per connection.")
            return
        if new:
            await self.send_json({"type": "subscribed", "tickers": new})
        for ticker in new:
            await self.hub.watch(self, ticker)

    async def _unsubscribe(self, value: Any) -> None:
        tickers, bad = self._tickers_in(value)
        for raw, reason in bad:
            await self._error("invalid_ticker", reason, ticker=raw)
        for ticker in tickers:
            await self.hub.unwatch(self, ticker)
        await self.send_json({"type": "unsubscribed", "tickers": tickers})

    async def _error(self, error: str, reason: str, *, ticker: Any = None) -> None:
        message: dict[str, Any] = {"type": "error", "error": error, "reason": reason}
        if ticker is not None:
            message["ticker"] = ticker
        await self.send_json(message)
