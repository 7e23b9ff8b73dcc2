"""Server and client as real processes on a free loopback port."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}

SPIKE_CSV = (
    "ticker,timestamp,price\n"
    "AAPL,2025-01-20T14:30:00+00:00,100.00\n"
    "AAPL,2025-01-20T14:30:20+00:00,99.80\n"
    "AAPL,2025-01-20T14:30:40+00:00,102.20\n"
    "MSFT,2025-01-20T14:30:40+00:00,400.00\n"
)
CALM_CSV = (
    "ticker,timestamp,price\n"
    "AAPL,2025-01-20T14:30:00+00:00,100.00\n"
    "AAPL,2025-01-20T14:30:01+00:00,100.10\n"
)
SPIKE_LINE = "📈 Price Spike Alert: AAPL increased by 2.4% in 1 minute!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listening on port {port}")


def start_server(port: int, csv: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "websocket_simulator/server.py",
            "--port",
            str(port),
            "--replay",
            str(csv),
            "--speed",
            "0",
        ],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def start_client(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "websocket_simulator/client.py", "--url", f"ws://127.0.0.1:{port}"],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


class LineReader:
    """Reads a process pipe on a thread so waiting for a line never blocks the test."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, wanted: str, timeout: float = 15.0) -> list[str]:
        """Lines read from now up to and including the first containing `wanted`."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            got.append(line)
            self.seen.append(line)
            if wanted in line:
                return got
        raise AssertionError(f"{wanted!r} not seen; got {got}")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@pytest.fixture
def csv_files(tmp_path):
    spike, calm = tmp_path / "spike.csv", tmp_path / "calm.csv"
    spike.write_text(SPIKE_CSV)
    calm.write_text(CALM_CSV)
    return spike, calm


def test_client_prints_the_alert_from_a_replayed_spike(csv_files):
    port = free_port()
    server = start_server(port, csv_files[0])
    client = start_client(port)
    out, err = LineReader(client.stdout), LineReader(client.stderr)
    try:
        assert out.until("Price Spike Alert") == [SPIKE_LINE]
    finally:
        assert stop(client) == 0
        stop(server)
    err.until("stopped")  # the client's clean-exit line
    assert not any("Traceback" in line for line in err.seen)


def test_client_reconnects_after_the_server_restarts(csv_files):
    spike, calm = csv_files
    port = free_port()
    server = start_server(port, calm)
    client = start_client(port)
    out, err = LineReader(client.stdout), LineReader(client.stderr)
    try:
        err.until("[connected]")
        stop(server)
        err.until("[reconnecting]")
        server = start_server(port, spike)
        err.until("[connected]")
        assert out.until("Price Spike Alert") == [SPIKE_LINE]
    finally:
        assert stop(client) == 0
        stop(server)


def test_server_refuses_a_bad_replay_file_naming_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,timestamp,price\nAAPL,2025-01-20T14:30:00,oops\n")
    result = subprocess.run(
        [
            sys.executable,
            "websocket_simulator/server.py",
            "--port",
            str(free_port()),
            "--replay",
            str(bad),
        ],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "line 2" in result.stderr and "oops" in result.stderr
