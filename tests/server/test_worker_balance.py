"""Two web workers on one address: keep-alive clients that all landed on one worker end up
spread over both (config/worker_balance.py), and stay where they landed without it."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.support.servers import ServedApp, base_env, manage

pytestmark = pytest.mark.slow

CLIENTS = 12


def workers(supervisor: int) -> list[int]:
    """uvicorn's worker processes (spawned by its supervisor)."""
    found = []
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(pid))
    return found


def established(port: int, pids: list[int]) -> dict[int, int]:
    """pid -> how many of the clients' connections to ``port`` that process holds."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    counts = {}
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                held += os.readlink(fd) in inodes
            except OSError:
                continue
        counts[pid] = held
    return counts


def wait_until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("balance", ["1", "0"])
def test_clients_that_all_landed_on_one_worker_spread_over_both(tmp_path, balance):
    env = base_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.support.served_settings",
        THROTTLE_ANON="1000000/min",
        HTTP_BALANCE=balance,
    )
    manage(env, "migrate", "--noinput")
    app = ServedApp(env, tmp_path / "uvicorn.log", workers=2).start()
    try:
        first, second = wait_until(lambda: len(w := workers(app.process.pid)) == 2 and w)
        # Every connection is accepted by the first worker while the second is stopped.
        os.kill(second, signal.SIGSTOP)
        try:
            connections = []
            for _ in range(CLIENTS):
                connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
                connection.connect()
                connections.append(connection)
            wait_until(lambda: established(app.port, [first])[first] == CLIENTS)
        finally:
            os.kill(second, signal.SIGCONT)

        statuses: list[int] = []
        closed: list[float] = []
        stop = threading.Event()

        def client(connection: http.client.HTTPConnection) -> None:
            while not stop.is_set():
                # http.client opens a new connection after a response that closed this one.
                connection.request("GET", "/test/slow?s=0.01")
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
                if response.getheader("connection", "").lower() == "close":
                    closed.append(time.monotonic())

        threads = [threading.Thread(target=client, args=(c,)) for c in connections]
        for thread in threads:
            thread.start()
        try:
            time.sleep(4)
            split = established(app.port, [first, second])
            settled = time.monotonic() - 1.5
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert set(statuses) == {200}
        if balance == "1":
            # Even, give or take the connection or two being reopened at that moment.
            assert min(split.values()) >= CLIENTS // 2 - 2, split
            # Once even, it stops shedding (one or two as the loads wobble).
            assert len([t for t in closed if t > settled]) <= 2, closed
        else:
            assert split == {first: CLIENTS, second: 0}
            assert not closed
    finally:
        app.stop()
