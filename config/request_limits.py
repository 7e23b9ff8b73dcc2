"""Request bodies: read on the event loop, within their limits, before Django sees a byte.

Every body is read here whole (past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` into a temporary file)
before any view, middleware or permission runs, so a client that trickles its body holds a
connection, never one of the threads that run Django; the limits stop the reading early.
Once the body is read, the connection is watched for the client's leaving
(config/disconnect.py).

A declared ``Content-Length`` above the path's limit is answered 413 at once, without reading
the body. A body without one (chunked) is read as it arrives and refused with a 413 as soon as
it passes the limit; the rest is never read (the connection is closed). One within the limit
is handed to Django with its length, as a file in the scope (``config.wsgi_threads.BODY_KEY``).

The limits per path are ``settings.REQUEST_BODY_LIMITS`` (longest matching prefix), and
``MAX_REQUEST_BYTES`` for every other path.

A request whose ``Content-Type`` names a charset other than UTF-8 is answered 415 here too
(:func:`refused_charset`): Django looks a declared charset up as a Python codec and decodes the
query string with it while it builds the request, so ``charset=zlib`` was a 500 on any URL
with a query.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import json
import tempfile
from typing import IO

from django.conf import settings
from django.utils.http import parse_header_parameters

from config import disconnect
from config.wsgi_threads import BODY_KEY


def body_limit(path: str) -> int:
    best, limit = -1, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for prefix, value in settings.REQUEST_BODY_LIMITS.items():
        if path.startswith(prefix) and len(prefix) > best:
            best, limit = len(prefix), value
    return limit


def refused_charset(content_type: str) -> str | None:
    """Why a request with this ``Content-Type`` is refused for its charset, or None.

    Every request TradePulse reads is UTF-8 text (JSON is UTF-8, RFC 8259); a declared
    ``charset`` is otherwise looked up as a Python codec, which may be no text encoding at all.
    """
    charset = parse_header_parameters(content_type)[1].get("charset")
    if charset is None:
        return None
    try:
        if codecs.lookup(charset).name == "utf-8":
            return None
    except LookupError:
        pass
    return f"charset={charset:.40} is not supported; send the request as UTF-8."


async def send_413(send, limit: int) -> None:
    await _send_json(send, 413, {"detail": f"Request body is larger than {limit} bytes."})


async def _send_json(send, status: int, content: dict) -> None:
    """An answer sent before the request's body is read: the connection is closed after it."""
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    """ASGI middleware around the HTTP application.

    Every request body is read here, on the event loop, before the application (Django's WSGI
    handler on a thread pool) sees it: a client that trickles its body holds a connection,
    never one of the threads. Past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` the body goes to a temporary
    file, as Django's own ASGI handler did.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"content-type" and b"charset" in value.lower():
                refusal = refused_charset(value.decode("latin-1"))
                if refusal is not None:
                    return await _send_json(send, 415, {"detail": refusal})
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            return await send_413(send, limit)

        try:
            body, received = await _read_body(receive, limit)
        except _TooLarge:
            return await send_413(send, limit)
        except _ClientGone:
            return
        with body:
            if declared is None and received:
                # Django's WSGI handler reads exactly Content-Length bytes.
                scope = {
                    **scope,
                    "headers": [*scope["headers"], (b"content-length", str(received).encode())],
                }
            # From here on the connection is only listened to for the client's leaving.
            gone = disconnect.Gone()
            watcher = asyncio.create_task(disconnect.watch(receive, gone))
            try:
                await self.app(
                    {**scope, BODY_KEY: body, disconnect.SCOPE_KEY: gone}, _no_receive, send
                )
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


async def _read_body(receive, limit: int) -> tuple[IO[bytes], int]:
    """The request body, as a file positioned at 0, and its length. A body that came in one
    message (every request without one, most with one) is already in memory; one in several
    is spooled, past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` into a temporary file."""
    spooled = None
    received = 0
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:  # a body without a declared length (chunked)
                raise _TooLarge
            more = message.get("more_body", False)
            if spooled is None and not more:
                return io.BytesIO(chunk), received
            if spooled is None:
                spooled = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - the caller closes it
                    max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
                )
            spooled.write(chunk)
            if not more:
                spooled.seek(0)
                return spooled, received
    except BaseException:
        if spooled is not None:
            spooled.close()
        raise


async def _no_receive():
    raise RuntimeError("the request body is in the scope (config.wsgi_threads.BODY_KEY)")
