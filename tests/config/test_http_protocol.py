"""``config.http_protocol``: the writes of one event-loop turn leave in one send, in order, and
nothing is lost at close. On a real socket pair; the transport's ``write`` is watched."""

from __future__ import annotations

import asyncio
import re
import socket

from config.http_protocol import JoinedWrites


class Reader(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc) -> None:
        self.closed.set_result(None)


async def pair():
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=left)
    _, reader = await loop.create_connection(Reader, sock=right)
    sends: list[bytes] = []
    write = transport.write

    def watched_write(data: bytes) -> None:
        sends.append(bytes(data))
        write(data)

    def watched_writelines(pieces) -> None:
        watched_write(b"".join(pieces))

    transport.write = watched_write  # type: ignore[method-assign]
    transport.writelines = watched_writelines  # type: ignore[method-assign]
    return JoinedWrites(transport, loop), reader, sends


async def test_writes_of_one_turn_leave_in_one_send_at_its_end():
    joined, reader, sends = await pair()
    joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    joined.write(b"hello")
    assert sends == []  # not before the turn ends
    await asyncio.sleep(0)
    assert sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"]
    joined.close()
    await reader.closed
    assert reader.data == sends[0]


async def test_writes_of_later_turns_follow_in_order():
    joined, reader, sends = await pair()
    for chunk in (b"a", b"b", b"c"):
        joined.write(chunk)
        await asyncio.sleep(0)
    assert sends == [b"a", b"b", b"c"]
    joined.close()
    await reader.closed
    assert reader.data == b"abc"


async def test_close_sends_what_is_pending_first_and_abort_drops_it():
    joined, reader, _ = await pair()
    joined.write(b"last words")
    joined.close()
    await reader.closed
    assert reader.data == b"last words"

    joined, reader, sends = await pair()
    joined.write(b"never")
    assert joined.get_write_buffer_size() == 5
    joined.abort()
    await reader.closed
    await asyncio.sleep(0)
    assert sends == [] and reader.data == b""


def test_pipelined_requests_are_answered_in_order_by_the_served_protocol(served):
    """``make run``'s flags (tests.support.servers.make_run_flags) serve with this protocol."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    last = b"GET /no-such-page/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(request * 3 + last)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", received)
    assert statuses == [b"200", b"200", b"200", b"404"]
