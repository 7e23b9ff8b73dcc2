"""An exception in one response leaves the served process healthy: later requests, erroring or
not, are answered and logged, and connections are not leaked."""

from __future__ import annotations

import http.client
import os

import pytest

pytestmark = pytest.mark.slow


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_failing_stream(served, mark: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        conn.request("GET", f"/test/fail-mid-stream?mark={mark}")
        response = conn.getresponse()
        try:
            body = response.read()
        except http.client.IncompleteRead as exc:
            body = exc.partial
        return response.status, body
    finally:
        conn.close()


def test_an_exception_mid_response_leaves_the_server_healthy(served):
    status, body = read_failing_stream(served, "first")
    # The status line was already sent; the body stops where the application failed.
    assert status == 200
    assert body.startswith(b"first line")
    assert "failed mid-stream: first" in served.log()

    fds_before = open_fds(served.process.pid)
    for i in range(3):
        status, _, _ = served.request("GET", f"/test/fail-before-response?mark=later-{i}")
        assert status == 500
        status, _, body = served.request("GET", "/healthz")
        assert (status, body.count(b'"ok"')) == (200, 2)
        status, body = read_failing_stream(served, f"again-{i}")
        assert status == 200
    log = served.log()
    for i in range(3):
        assert f"failed before the response: later-{i}" in log
        assert f"failed mid-stream: again-{i}" in log

    # Many more connections, some of them failing, leave no descriptor behind.
    for i in range(150):
        path = "/test/fail-before-response?mark=x" if i % 10 == 0 else "/test/ok"
        served.request("GET", path)
    assert open_fds(served.process.pid) <= fds_before + 5
    assert served.alive()
