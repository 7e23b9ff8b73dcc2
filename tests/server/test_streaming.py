"""CSV downloads stream from the served process: the first bytes leave while the rest is still
being produced, with flat memory."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.servers import ServedApp, api_token, base_env, manage, rss_bytes

pytestmark = pytest.mark.slow

ROWS = 100_000


def get_raw(port: int, path: str, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    return sock


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) == 0:
        part = sock.recv(65536)
        assert part, data
        data += part
    return tuple(data.split(b"\r\n\r\n", 1))


@pytest.fixture(scope="module")
def served_trades(tmp_path_factory):
    """One served process over ROWS trades of alice's, and her token."""
    tmp_path = tmp_path_factory.mktemp("streaming")
    env = base_env(tmp_path)
    manage(env, "migrate", "--noinput")
    token = api_token(env, "alice")
    source = tmp_path / "trades.csv"
    with source.open("w") as f:
        f.write("ticker,side,price,quantity,timestamp\n")
        for i in range(ROWS):
            f.write(f"AAPL,buy,{100 + i % 50}.25,{i + 1},2025-01-20T10:{i % 60:02d}:00Z\n")
    manage(env, "import_trades", str(source), "--user", "alice", "--no-progress")
    app = ServedApp(env, tmp_path / "uvicorn.log").start()
    try:
        yield app, token
    finally:
        app.stop()


def test_csv_download_streams_with_flat_memory(served_trades):
    app, token = served_trades
    # Load the code path once (an empty download), then measure.
    sock = get_raw(app.port, "/api/trades/?format=csv&ticker=NONE", token)
    while sock.recv(65536):
        pass
    sock.close()
    baseline = rss_bytes(app.process.pid)

    sock = get_raw(app.port, "/api/trades/?format=csv", token)
    head, first = read_head(sock)
    # The first bytes are here; how much has the server taken to produce them?
    grown_at_first_bytes = rss_bytes(app.process.pid) - baseline
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    body = first
    while part := sock.recv(1 << 20):
        body += part
    sock.close()
    assert body.count(b",AAPL,buy,") == ROWS  # every row arrived
    # A server that builds the whole body before sending holds far more than the body's size
    # in Python objects when the first bytes leave; a streaming one holds about one chunk.
    assert grown_at_first_bytes < len(body) / 2, (grown_at_first_bytes, len(body))


def test_a_download_whose_client_goes_away_is_not_produced_to_the_end(served_trades):
    app, token = served_trades
    stopped = "CSV download stopped after a chunk: the client has gone"
    before = app.log().count(stopped)
    sock = get_raw(app.port, "/api/trades/?format=csv", token)
    head, _ = read_head(sock)
    assert head.startswith(b"HTTP/1.1 200")
    time.sleep(0.5)  # the server fills the socket's buffers and waits for the client to read
    sock.close()
    deadline = time.monotonic() + 15
    while app.log().count(stopped) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.log().count(stopped) == before + 1
    status, _, _ = app.request("GET", "/healthz")
    assert status == 200


def test_clients_that_do_not_read_their_downloads_do_not_stop_other_requests(served_trades):
    # A thread sending a download waits for its client to read; other requests still get
    # threads of their own (HTTP_THREADS, 20 by default) and the event loop is never blocked.
    app, token = served_trades
    stalled = []
    try:
        for _ in range(8):
            sock = get_raw(app.port, "/api/trades/?format=csv", token)
            head, _ = read_head(sock)
            assert head.startswith(b"HTTP/1.1 200")
            stalled.append(sock)
        time.sleep(1.0)  # each download fills its socket's buffers and waits for its client
        started = time.monotonic()
        headers = {"Authorization": f"Token {token}"}
        status, _, body = app.request("GET", "/api/trades/?ticker=AAPL", None, headers, timeout=20)
        assert status == 200 and b'"results"' in body
        status, _, _ = app.request("GET", "/healthz", timeout=20)
        assert status == 200
        assert time.monotonic() - started < 10
    finally:
        for sock in stalled:
            sock.close()
