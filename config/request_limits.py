"""Request body limits, enforced by the ASGI application before Django reads a byte.

Django under ASGI reads a whole request body into a temporary file before any view, middleware
or permission runs; these limits stop that early. A declared ``Content-Length`` above the
path's limit is answered 413 at once, without reading the body. A body without one (chunked)
is read as it arrives and refused with a 413 as soon as it passes the limit; the rest is never
read (the connection is closed). One within the limit is handed to Django with its length.

The limits per path are ``settings.REQUEST_BODY_LIMITS`` (longest matching prefix), and
``MAX_REQUEST_BYTES`` for every other path.
"""

from __future__ import annotations

import json

from django.conf import settings


def body_limit(path: str) -> int:
    best, limit = -1, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for prefix, value in settings.REQUEST_BODY_LIMITS.items():
        if path.startswith(prefix) and len(prefix) > best:
            best, limit = len(prefix), value
    return limit


async def send_413(send, limit: int) -> None:
    body = json.dumps({"detail": f"Request body is larger than {limit} bytes."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    """ASGI middleware around the HTTP application."""

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
                break
        if declared is not None:
            if declared.strip().isdigit() and int(declared) > limit:
                return await send_413(send, limit)
            # The server delivers exactly the declared length.
            return await self.app(scope, receive, send)

        # A body without a declared length (chunked) is read here, up to the limit, and handed
        # on with its length: Django's WSGI handler reads exactly Content-Length bytes.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                return await send_413(send, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = [*scope["headers"], (b"content-length", str(len(body)).encode())]
        replayed = False

        async def replay_receive():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, "headers": headers}, replay_receive, send)
