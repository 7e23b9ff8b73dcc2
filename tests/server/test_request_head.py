"""Reading a request is bounded: its line and headers in size (64 KiB: 431) and in time, its
body in how long it may pause (``HTTP_READ_TIMEOUT``: 408), and the connection is then closed;
a client cannot hold a connection by never finishing its request (config/http_protocol.py).
Served by ``make run``'s uvicorn flags, with a 1 s timeout."""

from __future__ import annotations

import json
import re
import select
import socket
import time

import pytest

from config.http_protocol import MAX_HEAD_BYTES, MAX_URL_BYTES
from tests.support.servers import base_env, serving

pytestmark = pytest.mark.slow

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("head")
    env = base_env(
        tmp, HTTP_READ_TIMEOUT=str(TIMEOUT), DJANGO_SETTINGS_MODULE="tests.support.served_settings"
    )
    with serving(env, tmp / "uvicorn.log") as served:  # with /test/slow
        yield served


def read_until_closed(sock: socket.socket, limit: float = 10.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def status_and_body(response: bytes) -> tuple[int, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_headers_past_64_kib_are_a_431_and_the_connection_is_closed(app):
    piece = b"a" * 8192
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        for _ in range(4 * MAX_HEAD_BYTES // len(piece)):
            if select.select([sock], [], [], 0.05)[0]:
                break  # answered: sending more would only meet a reset
            sock.sendall(piece)
        response, _ = read_until_closed(sock)
    status, body = status_and_body(response)
    assert status == 431
    assert f"{MAX_HEAD_BYTES} bytes" in body["detail"]
    assert app.request("GET", "/healthz")[0] == 200  # the server goes on
    assert "Traceback" not in app.log()


def test_a_head_past_64_kib_in_one_read_is_a_431_too(app):
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(head)  # the head's end never comes: only its size can end it
        response, waited = read_until_closed(sock)
    assert status_and_body(response)[0] == 431
    assert waited < TIMEOUT * 0.9  # refused for its size, before the timeout


def test_a_whole_head_past_64_kib_in_one_read_is_a_431(app):
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(head)
        response, _ = read_until_closed(sock)
    status, body = status_and_body(response)
    assert status == 431
    assert f"{MAX_HEAD_BYTES} bytes" in body["detail"]


@pytest.mark.parametrize("length", [MAX_URL_BYTES + 1, 70_000])
def test_a_url_past_8_kib_is_a_414_naming_the_limit(app, length):
    path = b"/api/trades/?ticker=" + b"A" * (length - len(b"/api/trades/?ticker="))
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response, _ = read_until_closed(sock)
    status, body = status_and_body(response)
    assert status == 414
    assert body == {"detail": f"The URL (path and query) must be at most {MAX_URL_BYTES} bytes."}
    assert app.request("GET", "/healthz")[0] == 200  # the server goes on
    assert "Traceback" not in app.log()


def test_a_url_of_8_kib_is_read(app):
    path = "/api/trades/?ticker=" + "A" * (MAX_URL_BYTES - len("/api/trades/?ticker="))
    assert app.request("GET", path)[0] == 401  # read and answered by the application


def test_pipelined_requests_after_a_large_body_are_all_answered(app):
    body = json.dumps({"username": "alice", "password": "x" * 100_000}).encode()
    first = (
        b"POST /api/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    second = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(first[:20])
        time.sleep(0.2)
        # The rest of the first head, its body and most of the next head in one read: the
        # next head is not charged for the body before it.
        sock.sendall(first[20:] + body + second)
        time.sleep(0.2)
        sock.sendall(b"\r\n")
        response, _ = read_until_closed(sock)
    assert [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", response)] == [400, 200]


def test_a_431_waits_for_the_response_in_progress(app):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(request + b"GET /healthz HTTP/1.1\r\nX-Big: ")
        for _ in range(25):  # 200 KB in reads of their own: counted whatever came first
            time.sleep(0.01)
            sock.sendall(b"a" * 8192)
        response, _ = read_until_closed(sock)
    assert [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", response)] == [200, 431]


def test_a_head_that_stops_arriving_is_a_408_after_the_timeout(app):
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        response, waited = read_until_closed(sock)
    status, body = status_and_body(response)
    assert status == 408
    assert f"{TIMEOUT:g} seconds" in body["detail"]
    assert TIMEOUT * 0.5 < waited < TIMEOUT + 5


def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(app):
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        response, waited = read_until_closed(sock)
    assert status_and_body(response)[0] == 408
    assert TIMEOUT * 0.5 < waited < TIMEOUT + 5


def test_a_kept_alive_connections_next_head_has_its_own_clock(app):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.settimeout(10)
        # A head sent slowly, but whole within the timeout, is answered.
        for part in (request[:10], request[10:30], request[30:]):
            sock.sendall(part)
            time.sleep(TIMEOUT / 4)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        # Past the first request's clock, the next one starts its own.
        time.sleep(TIMEOUT * 1.2)
        sock.sendall(request[:20])
        response, waited = read_until_closed(sock)
    assert status_and_body(response)[0] == 408
    assert TIMEOUT * 0.5 < waited < TIMEOUT + 5


def test_bytes_between_requests_do_not_hold_a_kept_alive_connection(app):
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"\r\n")  # skipped by the parser; it stopped the keep-alive timer
        response, waited = read_until_closed(sock)
    assert status_and_body(response)[0] == 408
    assert TIMEOUT * 0.5 < waited < TIMEOUT + 5


def test_a_charset_that_is_no_text_encoding_is_a_415_on_any_url(app):
    status, headers, content = app.request(
        "GET", "/healthz?x=1", headers={"Content-Type": "application/json; charset=zlib"}
    )
    assert status == 415
    assert json.loads(content) == {
        "detail": "charset=zlib is not supported; send the request as UTF-8."
    }
    assert "Traceback" not in app.log()


LOGIN_HEAD = (
    b"POST /api/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
)


def test_a_body_that_stops_arriving_is_a_408_after_the_timeout(app):
    body = json.dumps({"username": "alice", "password": "x" * 50}).encode()
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(LOGIN_HEAD % len(body) + body[:10])
        response, waited = read_until_closed(sock)
    status, content = status_and_body(response)
    assert status == 408
    assert f"none came for {TIMEOUT:g} seconds" in content["detail"]
    assert TIMEOUT * 0.5 < waited < TIMEOUT + 5
    assert app.request("GET", "/healthz")[0] == 200
    assert "Traceback" not in app.log()


def test_a_body_that_keeps_arriving_slowly_is_read_whole(app):
    body = json.dumps({"username": "alice", "password": "x" * 50}).encode()
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        sock.sendall(LOGIN_HEAD % len(body))
        for start in range(0, len(body), 10):  # 3.5 timeouts in all, never one without a byte
            time.sleep(TIMEOUT / 2)
            sock.sendall(body[start : start + 10])
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401 ")  # the wrong password, not the pace


def test_a_pipelined_body_is_timed_out_only_after_the_response_before_it(app):
    body = json.dumps({"username": "alice", "password": "x" * 50}).encode()
    slow = b"GET /test/slow?s=%g HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (TIMEOUT * 2.5)
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        # A request behind a slow one, whose body stops after 5 bytes: the slow one is
        # answered whole, then the stalled one is a 408.
        sock.sendall(slow + LOGIN_HEAD % len(body) + body[:5])
        response, _ = read_until_closed(sock)
    assert [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", response)] == [200, 408]


@pytest.mark.parametrize(
    ("refused", "status"),
    [
        (b"GET /healthz?" + b"x" * MAX_URL_BYTES + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_a_refused_head_behind_a_slow_request_waits_for_its_answer(app, refused, status):
    slow = b"GET /test/slow?s=%g HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (TIMEOUT * 2.5)
    with socket.create_connection(("127.0.0.1", app.port)) as sock:
        # The slow request outlives the read timeout: it is answered whole, not taken for a
        # stalled body, and the refusal follows.
        sock.sendall(slow + refused)
        response, _ = read_until_closed(sock)
    first, _, rest = response.partition(b"HTTP/1.1 %d " % status)
    assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b"\r\n\r\nok")
    assert rest  # the refusal, after the whole answer
    assert "Traceback" not in app.log()


def test_a_quiet_websocket_is_not_timed_out(app):
    from websockets.sync.client import connect

    address = f"127.0.0.1:{app.port}"
    with connect(f"ws://{address}/ws/stocks/MSFT/", origin=f"http://{address}") as ws:
        ws.send(json.dumps({"type": "auth", "token": app.token}))
        time.sleep(TIMEOUT * 2.5)
        assert ws.ping().wait(5)  # raises ConnectionClosed had the server closed it
        ws.send(json.dumps({"type": "ping"}))  # a message, then quiet again
        time.sleep(TIMEOUT * 2.5)
        assert ws.ping().wait(5)
    assert "Traceback" not in app.log()


def test_a_large_body_after_a_small_head_is_read_as_usual(app):
    body = json.dumps({"username": "alice", "password": "x" * 300_000}).encode()
    status, _, content = app.request(
        "POST", "/api/auth/login/", body, {"Content-Type": "application/json"}
    )
    assert status == 400  # the password's length, named; not the head's size
    assert "password" in json.loads(content)
