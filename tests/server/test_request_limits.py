"""Request bodies over the limit are refused by the served process before it reads them."""

from __future__ import annotations

import json
import socket

import pytest

from config.request_limits import body_limit
from tests.support.servers import rss_bytes

pytestmark = pytest.mark.slow

MB = 1024 * 1024


def raw_request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head.encode())
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    try:
        while part := sock.recv(65536):
            data += part
    except ConnectionResetError:
        pass
    return data


@pytest.mark.parametrize(
    ("path", "auth"), [("/healthz", False), ("/api/trades/", False), ("/api/trades/", True)]
)
def test_a_declared_200_mb_body_is_refused_before_it_is_sent(served, path, auth):
    authorization = f"Authorization: Token {served.token}\r\n" if auth else ""
    # Headers only: the body is never sent, so a server waiting to read it would hang here.
    sock = raw_request(
        served.port,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}"
        f"Content-Type: application/json\r\nContent-Length: {200 * MB}\r\n\r\n",
    )
    response = read_response(sock)
    sock.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), response[:300]
    assert json.loads(body)["detail"] == "Request body is larger than 4194304 bytes."
    assert served.alive()


def test_a_chunked_body_is_not_read_past_the_limit(served):
    baseline = rss_bytes(served.process.pid)
    sock = raw_request(
        served.port,
        "POST /api/trades/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {served.token}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    )
    chunk = b"x" * MB
    sent = 0
    try:
        for _ in range(64):  # up to 64 MB, if the server kept reading
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = read_response(sock)
    sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:300]
    assert sent < 64 * MB  # the server closed the connection instead of reading on
    assert rss_bytes(served.process.pid) - baseline < 16 * MB
    status, _, _ = served.request("GET", "/healthz")
    assert status == 200


def test_a_chunked_body_within_the_limit_reaches_the_view(served):
    body = json.dumps({"ticker": "MSFT", "side": "sell", "price": "410.5", "quantity": "2"})
    half = len(body) // 2
    sock = raw_request(
        served.port,
        "POST /api/trades/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {served.token}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    for part in (body[:half], body[half:]):
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part.encode()))
    sock.sendall(b"0\r\n\r\n")
    response = read_response(sock)
    sock.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), response[:300]
    created = json.loads(payload)
    assert (created["ticker"], created["side"], created["price"]) == ("MSFT", "sell", "410.5")


def test_clients_trickling_their_bodies_do_not_hold_the_threads_that_serve_requests(served):
    # More slow senders than the process has threads for Django (HTTP_THREADS, 20): each
    # sends its headers and a tenth of its body, then waits.
    body = json.dumps({"ticker": "AAPL", "side": "buy", "price": "1.5", "quantity": "1"})
    slow = []
    for _ in range(25):
        sock = raw_request(
            served.port,
            "POST /api/trades/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token {served.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body[:5]}",
        )
        slow.append(sock)
    try:
        status, _, _ = served.request("GET", "/healthz", timeout=10)
        assert status == 200
        status, _, listed = served.request(
            "GET", "/api/trades/", headers={"Authorization": f"Token {served.token}"}, timeout=10
        )
        assert status == 200, listed[:300]
        # The slow ones are served as soon as their bodies are complete.
        slow[0].sendall(body[5:].encode())
        assert read_response(slow[0]).startswith(b"HTTP/1.1 201")
    finally:
        for sock in slow:
            sock.close()


def test_the_backtest_upload_has_its_own_larger_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * MB
    settings.BACKTEST_MAX_UPLOAD_BYTES = 50 * MB
    settings.REQUEST_BODY_LIMITS = {"/api/backtests/": 50 * MB + 64 * 1024}
    assert body_limit("/api/trades/") == 4 * MB
    assert body_limit("/healthz") == 4 * MB
    assert body_limit("/api/backtests/") == 50 * MB + 64 * 1024


def test_a_backtest_upload_above_the_general_limit_is_read(served):
    boundary = "tradepulse-boundary"
    rows = "".join(f"2024-01-{1 + i % 28:02d},1,2,0.5,1.5,100\n" for i in range(200_000))
    payload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bars.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nDate,Open,High,Low,Close,Volume\n{rows}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    assert len(payload) > 4 * MB
    status, _, body = served.request(
        "POST",
        "/api/backtests/",
        body=payload,
        headers={
            "Authorization": f"Token {served.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    # Read and judged by the view (these bars are not valid), not refused for its size.
    assert status != 413, body[:300]
    assert status < 500, body[:300]
