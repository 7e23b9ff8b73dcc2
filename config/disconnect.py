"""Tell a streamed response that its client has gone.

HTTP runs through Django's WSGI handler on a thread pool (config/asgi.py). Once the request
body has been read, nothing listens to the connection, and the server drops what a response
sends after the client left: a long CSV download whose client went away would be produced to
the end. This ASGI middleware listens for the client's disconnect after the body and sets an
event that the request can see (``client_gone(request)``); streamed bodies check it between
chunks and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

SCOPE_KEY = "tradepulse.client_gone"


class DisconnectWatch:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        gone = threading.Event()
        watcher: asyncio.Task | None = None

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        async def body_receive():
            nonlocal watcher
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif not message.get("more_body", False) and watcher is None:
                watcher = asyncio.create_task(watch())
            return message

        app_receive = body_receive
        declared = dict(scope["headers"]).get(b"content-length", b"0").strip()
        if declared in (b"", b"0") and b"transfer-encoding" not in dict(scope["headers"]):
            # No body (a GET): read its one empty message here, hand it on, and listen.
            first = await receive()
            if first["type"] == "http.disconnect":
                return
            watcher = asyncio.create_task(watch())
            delivered = False

            async def app_receive():
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return first
                return {"type": "http.request", "body": b"", "more_body": False}

        try:
            await self.app({**scope, SCOPE_KEY: gone}, app_receive, send)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


def client_gone(request) -> bool:
    """Whether the client of ``request`` has disconnected (False when nobody watches)."""
    scope = request.META.get("asgi.scope") or {}
    event = scope.get(SCOPE_KEY)
    return event is not None and event.is_set()
