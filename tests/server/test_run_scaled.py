"""`make run-scaled`: refuses to start without its servers, starts every process of the
Procfile against a private PostgreSQL and Redis, and Ctrl-C or SIGTERM stops all of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import ROOT, base_env, free_port

pytestmark = pytest.mark.slow

LAUNCHER = [sys.executable, str(ROOT / "scripts" / "run_scaled.py")]


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process on the machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    table = process_table()
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    table = process_table()
    return [pid for pid, started in processes.items() if table.get(pid, (0, ""))[1] == started]


@pytest.mark.parametrize(
    ("missing", "present"),
    [
        ("DATABASE_URL", {"REDIS_URL": "redis://127.0.0.1:1/0"}),
        ("REDIS_URL", {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}),
    ],
)
def test_a_missing_server_variable_is_a_one_line_error(tmp_path, missing, present):
    done = subprocess.run(
        LAUNCHER, env=base_env(tmp_path, **present), capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert missing in lines[0]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_every_process_starts_and_one_signal_stops_them_all(
    tmp_path, private_postgres, private_redis, stop_signal
):
    port = free_port()
    env = base_env(
        tmp_path,
        DATABASE_URL=private_postgres.url,
        REDIS_URL=private_redis.url,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    log_path = tmp_path / "run-scaled.log"
    with open(log_path, "wb") as log:
        launcher = subprocess.Popen(
            LAUNCHER,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        import http.client

        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and launcher.poll() is None:
            text = log_path.read_text(errors="replace")
            started = all(
                f"{name} started" in text
                for name in ("web.1", "feed.1", "feed.2", "worker.1", "beat.1")
            )
            if started and "Application startup complete" in text:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/healthz")
                    ready = conn.getresponse().status == 200
                    conn.close()
                except OSError:
                    pass
            if ready and text.count("Application startup complete") >= 2:
                break
            time.sleep(0.5)
        text = log_path.read_text(errors="replace")
        assert ready, text
        assert "celery@" in text and "beat: Starting" in text, text
        running = descendants(launcher.pid)
        # honcho, a shell per entry, the uvicorn supervisor and its 2 workers, 2 feeds,
        # the Celery worker and beat.
        assert len(running) >= 8, text

        # Ctrl-C in a terminal signals the foreground process group: the launcher (now honcho).
        os.killpg(launcher.pid, stop_signal)
        deadline = time.monotonic() + 10
        while still_running(running) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert still_running(running) == [], log_path.read_text(errors="replace")
        assert launcher.wait(timeout=5) is not None
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        for pid in still_running(descendants(launcher.pid)):
            os.kill(pid, signal.SIGKILL)
