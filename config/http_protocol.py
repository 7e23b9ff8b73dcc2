"""uvicorn's httptools protocol, writing each response's head and body in one send.

uvicorn writes the status line and headers as soon as the application sends
``http.response.start``, and the body when it sends ``http.response.body``: two writes, so two
``send`` system calls and two TCP segments for every response, each paid under the
interpreter lock. Here the connection's writes made in one turn of the event loop are joined
and written at the end of that turn. A response whose body follows its start at once (every
Django response but a stream) leaves in one write; a stream still leaves chunk by chunk, each
at the end of the turn that produced it. WebSocket connections get the socket itself.

``make run`` and ``make run-scaled`` pass ``--http config.http_protocol:HttpToolsProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl


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

    def handle_websocket_upgrade(self) -> None:
        joined: JoinedWrites = self.transport  # type: ignore[assignment]
        joined.flush()
        self.transport = joined._transport
        super().handle_websocket_upgrade()
