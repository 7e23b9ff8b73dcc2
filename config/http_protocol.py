"""uvicorn's httptools protocol, writing each response's head and body in one send.

uvicorn writes the status line and headers as soon as the application sends
``http.response.start``, and the body when it sends ``http.response.body``: two writes, so two
``send`` system calls and two TCP segments for every response, each paid under the
interpreter lock. Here the connection's writes made in one turn of the event loop are joined
and written at the end of that turn. A response whose body follows its start at once (every
Django response but a stream) leaves in one write; a stream still leaves chunk by chunk, each
at the end of the turn that produced it. WebSocket connections get the socket itself.

Reading a request is bounded, as a proxy in front would bound it: its URL must take at most
``MAX_URL_BYTES`` (past them: 414), its line and headers ``MAX_HEAD_BYTES`` (past them: 431),
and they must come within ``settings.HTTP_READ_TIMEOUT`` seconds of the connection opening, or
of the request's first byte on a kept-alive connection, and its body may not pause for longer
than that (past them: 408). Either way the connection is closed: a client cannot hold one open
by never finishing its request, nor make the parser keep megabytes of headers.

``make run`` and ``make run-scaled`` pass ``--http config.http_protocol:HttpToolsProtocol``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings
from uvicorn.protocols.http import httptools_impl

#: The most bytes a request's line and headers may take (nginx's default buffers: 4 x 8 KiB;
#: a browser's request head is 1-2 KiB).
MAX_HEAD_BYTES = 65536
#: The longest URL (nginx's and Apache's default limit of a request line).
MAX_URL_BYTES = 8192
#: How long a refused connection is still read (and what comes dropped) before it is closed.
LINGER_SECONDS = 5.0


# (status, reason, detail) of the refusals for size.
HEAD_TOO_LARGE = (
    431,
    "Request Header Fields Too Large",
    f"The request line and headers must arrive within {MAX_HEAD_BYTES} bytes.",
)
URL_TOO_LONG = (
    414,
    "URI Too Long",
    f"The URL (path and query) must be at most {MAX_URL_BYTES} bytes.",
)


class _Refused(Exception):
    """Raised in a parser callback, after the refusal, to stop the parser; uvicorn then calls
    ``send_400_response``, which has nothing left to answer."""


class JoinedWrites:
    """A transport whose writes wait for the end of the event loop's turn, joined in one."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            # One writev(2) on uvloop: the pieces are not copied into one buffer first.
            self._transport.writelines(pending)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        pending = sum(map(len, self._pending)) if self._pending else 0
        return pending + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = JoinedWrites(transport, self.loop)  # type: ignore[assignment]
        # Bytes of the unfinished head, None between heads; messages begun; whether a message
        # (head or body) is being read; a refusal waiting for the response being sent; the
        # close after a refusal; the head's deadline; the body's pause limit; a WebSocket.
        self._head_bytes: int | None = None
        self._begun = 0
        self._in_message = False
        self._refusal: tuple[int, str, str] | None = None
        self._refused = False
        self._linger: asyncio.TimerHandle | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._upgraded = False
        self._start_head_timer()

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(settings.HTTP_READ_TIMEOUT, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None or self._refused:
            return  # refused: what follows is read and dropped until the connection closes
        idle, begun = not self._in_message, self._begun
        super().data_received(data)
        if self._upgraded or self._refusal is not None or self._refused:
            return  # a WebSocket now (its own protocol reads it), or refused by the parser
        if self._head_bytes is None:  # no head left unfinished by this read
            if self._in_message:
                # A body still to come: it may pause for HTTP_READ_TIMEOUT at most.
                self._stop_body_timer()
                self._body_timer = self.loop.call_later(
                    settings.HTTP_READ_TIMEOUT, self._body_too_slow
                )
            elif self._idle_without_timer():
                # Bytes between requests (a lone CRLF, which the parser skips) stopped
                # uvicorn's keep-alive timer: the next head's clock starts now.
                self._start_head_timer()
            return
        if self._begun == begun:  # the whole read is more of the head
            self._head_bytes += len(data)
        elif idle and self._begun == begun + 1:  # it began the read (after CRLFs at most)
            self._head_bytes = len(data)
        # Otherwise it began after another request's end in this read: where is not known, so
        # it is counted from the next read (at most one read more than the limit).
        if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._refuse(*HEAD_TOO_LARGE)

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._refuse(*URL_TOO_LONG)
            raise _Refused
        super().on_url(url)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None and not self._refused:  # not refused by a callback already
            super().send_400_response(msg)

    def _idle_without_timer(self) -> bool:
        return (
            self._head_timer is None
            and self.timeout_keep_alive_task is None
            and not self._responding()
            and not self.transport.is_closing()
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun += 1
        self._in_message = True
        self._head_bytes = 0
        if self._head_timer is None:  # a kept-alive connection's next request
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._stop_head_timer()
        # A head may end in the read that took it past the limit: measured whole here.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            self._refuse(*HEAD_TOO_LARGE)
            raise _Refused
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_message = False
        self._stop_body_timer()
        super().on_message_complete()

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_too_slow(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or not self._in_message:
            return
        if self.flow.read_paused or self.pipeline:
            # The server is not reading (a pipelined request waits for the response before
            # it, or the application has not taken what came): the pause is not the client's.
            self._body_timer = self.loop.call_later(settings.HTTP_READ_TIMEOUT, self._body_too_slow)
            return
        # The application stops waiting for the body (it reads a disconnect).
        cycle.disconnected = True
        cycle.message_event.set()
        if cycle.response_started:  # its answer is already on its way
            self.transport.close()
            return
        self._answer_and_close(
            408,
            "Request Timeout",
            f"The request body must keep arriving: none came for "
            f"{settings.HTTP_READ_TIMEOUT:g} seconds.",
        )

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal is not None and not self._responding():
            self._refuse(*self._refusal)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._upgraded:
            return
        if self._responding():  # a pipelined head: its clock starts when the answer is sent
            self._start_head_timer()
            return
        self._refuse(
            408,
            "Request Timeout",
            f"The request line and headers must arrive within "
            f"{settings.HTTP_READ_TIMEOUT:g} seconds.",
        )

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` with ``detail`` (naming the limit) and close the connection; while
        another response is being sent (pipelining), drop what comes and answer once it and
        those queued before this head are sent."""
        self._head_bytes = None
        self._stop_head_timer()
        # Nothing more of this connection is read: no body of the refused request is awaited
        # (its timer would take a request before it, still running, for a stalled upload).
        self._in_message = False
        self._stop_body_timer()
        if self._responding() or self.pipeline:
            self._refusal = (status, reason, detail)
            return
        self._refusal = None
        self._answer_and_close(status, reason, detail)

    def _answer_and_close(self, status: int, reason: str, detail: str) -> None:
        body = json.dumps({"detail": detail})
        joined: JoinedWrites = self.transport  # type: ignore[assignment]
        joined.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}".encode()
        )
        joined.flush()
        self._refused = True
        if not joined.can_write_eof():  # TLS: closed at once
            joined.close()
            return
        # Closed at once, a socket with unread input is reset, and the client may lose the
        # answer: send the end of the stream, drop what still comes, and close after a while.
        joined.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, joined.close)

    def shutdown(self) -> None:
        if self._refused:  # answered already: no need to linger through a shutdown
            self.transport.close()
            return
        super().shutdown()

    def handle_websocket_upgrade(self) -> None:
        self._upgraded = True
        joined: JoinedWrites = self.transport  # type: ignore[assignment]
        joined.flush()
        self.transport = joined._transport
        super().handle_websocket_upgrade()
