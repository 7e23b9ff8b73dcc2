"""`make run-scaled`: refuses to start without its servers, starts every process of the
Procfile against a private PostgreSQL and Redis, and Ctrl-C or SIGTERM stops all of them."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import (
    ROOT,
    api_token,
    base_env,
    cmdline,
    descendants,
    free_port,
    manage,
    process_table,
    wait_until,
)

pytestmark = pytest.mark.slow

LAUNCHER = [sys.executable, str(ROOT / "scripts" / "run_scaled.py")]


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


PROGRAMS = ("web", "feed.1", "feed.2", "worker", "beat")


def roles(launcher: int) -> dict[str, dict[int, str]]:
    """The launcher's descendants by what they run: web (the uvicorn supervisor and its
    workers), feed, worker (Celery), beat; pid -> start time."""
    found: dict[str, dict[int, str]] = {"web": {}, "feed": {}, "worker": {}, "beat": {}}
    for pid, started in descendants(launcher).items():
        line = cmdline(pid)
        if "uvicorn" in line or "multiprocessing" in line:
            found["web"][pid] = started
        elif "run_feed" in line:
            found["feed"][pid] = started
        elif "celery" in line and " worker" in line:
            found["worker"][pid] = started
        elif "celery" in line and " beat" in line:
            found["beat"][pid] = started
    return found


def get_json(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {}
    finally:
        conn.close()


class Scaled:
    """``run_scaled.py`` in its own session against private servers, its output in a file."""

    def __init__(self, tmp_path: Path, postgres, redis) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "run-scaled.log"
        env = base_env(
            tmp_path,
            DATABASE_URL=postgres.url,
            REDIS_URL=redis.url,
            PORT=str(self.port),
            WEB_CONCURRENCY="2",
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        )
        self.env = env
        with open(self.log_path, "wb") as log:
            self.launcher = subprocess.Popen(
                LAUNCHER,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthz(self) -> int | None:
        try:
            return get_json(self.port, "/healthz")[0]
        except OSError:
            return None

    def wait_ready(self) -> None:
        """Every program running, both web workers, the Celery worker and beat up, and the web
        answering /healthz."""

        def ready() -> bool:
            if self.launcher.poll() is not None:
                return True
            text = self.log()
            return (
                all(f"success: {name} entered RUNNING state" in text for name in PROGRAMS)
                and text.count("Application startup complete") >= 2
                and "celery@" in text
                and "beat: Starting" in text
                and self.healthz() == 200
            )

        wait_until(ready, 120, 0.5)
        assert self.launcher.poll() is None, self.log()
        assert self.healthz() == 200, self.log()
        assert "celery@" in self.log() and "beat: Starting" in self.log(), self.log()

    def stop_and_check(self, stop_signal: int) -> None:
        """``stop_signal`` to the process group, as Ctrl-C in a terminal does (the launcher
        is supervisord by now): every descendant is gone within 10 s."""
        running = descendants(self.launcher.pid)
        os.killpg(self.launcher.pid, stop_signal)
        wait_until(lambda: not still_running(running), 10, 0.2)
        assert still_running(running) == [], self.log()
        assert self.launcher.wait(timeout=5) is not None

    def kill(self) -> None:
        # Every descendant is listed before anything dies: supervisord runs each program in a
        # process group of its own, and once it is gone they belong to init, not to it.
        running = descendants(self.launcher.pid)
        if self.launcher.poll() is None:
            os.killpg(self.launcher.pid, signal.SIGKILL)
        for pid in still_running(running):
            os.kill(pid, signal.SIGKILL)
        # The supervisord configuration the launcher wrote for this port.
        shutil.rmtree(ROOT / "var" / "run-scaled" / str(self.port), ignore_errors=True)


@pytest.fixture
def scaled(tmp_path, private_postgres, private_redis):
    running = Scaled(tmp_path, private_postgres, private_redis)
    try:
        running.wait_ready()
        yield running
    finally:
        running.kill()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_every_process_starts_and_one_signal_stops_them_all(scaled, stop_signal):
    found = roles(scaled.launcher.pid)
    # The uvicorn supervisor and its 2 workers, 2 feeds, the Celery worker and beat.
    assert len(found["web"]) >= 3, found
    assert len(found["feed"]) == 2, found
    assert len(found["worker"]) == 1, found
    assert len(found["beat"]) == 1, found
    scaled.stop_and_check(stop_signal)


def test_a_killed_feed_or_worker_is_restarted_and_the_others_keep_running(scaled):
    port = scaled.port
    leader = wait_until(
        lambda: get_json(port, "/readyz")[1].get("checks", {}).get("feed", {}).get("pid"), 30
    )
    assert leader, get_json(port, "/readyz")
    before = roles(scaled.launcher.pid)
    assert leader in before["feed"], (leader, before)
    (celery_worker,) = before["worker"]

    os.kill(leader, signal.SIGKILL)
    os.kill(celery_worker, signal.SIGKILL)

    def replaced() -> dict[str, dict[int, str]] | None:
        now = roles(scaled.launcher.pid)
        new_feeds = set(now["feed"]) - set(before["feed"])
        new_workers = set(now["worker"]) - set(before["worker"])
        return now if len(now["feed"]) == 2 and new_feeds and new_workers else None

    after = wait_until(replaced, 30)
    assert after, scaled.log()
    # Nothing else was stopped: the web supervisor and workers, the other feed and beat are
    # the same processes as before.
    survivors = {
        pid: started
        for role, processes in before.items()
        for pid, started in processes.items()
        if pid not in (leader, celery_worker)
    }
    assert sorted(still_running(survivors)) == sorted(survivors), scaled.log()
    assert scaled.healthz() == 200
    # The standby took the lease over (or the restarted feed did): a live leader again.
    new_leader = wait_until(
        lambda: (
            (feed := get_json(port, "/readyz")[1].get("checks", {}).get("feed", {})).get("ok")
            and feed.get("pid") != leader
            and feed.get("pid")
        ),
        30,
    )
    assert new_leader in after["feed"], (new_leader, after, scaled.log())
    scaled.stop_and_check(signal.SIGINT)


def test_an_oversized_websocket_frame_is_refused_by_the_server(scaled):
    """A frame over uvicorn's --ws-max-size is refused (1009) before the application reads
    it: no ``message_too_big`` error message from the application first."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    received = []
    address = f"127.0.0.1:{scaled.port}"
    with connect(
        f"ws://{address}/ws/stocks/MSFT/", origin=f"http://{address}", max_size=None
    ) as socket:
        socket.send("x" * 200_000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(socket.recv(timeout=10))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009, closed.value
    assert received == []


def test_the_pages_work_in_the_scaled_mode(scaled):
    """A trader signs in on the web login page (session and CSRF through the web workers)
    and every page answers, showing what the API stored."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    manage(
        scaled.env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('wendy', password='scaled-pages-123')",
    )
    token = api_token(scaled.env, "wendy")
    base = f"http://127.0.0.1:{scaled.port}"
    created = urllib.request.urlopen(
        urllib.request.Request(
            base + "/api/trades/",
            data=json.dumps(
                {"ticker": "NVDA", "side": "buy", "price": "131.5", "quantity": "7"}
            ).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            method="POST",
        ),
        timeout=30,
    )
    assert created.status == 201

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = browser.open(base + "/web/login/", timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    form = {"username": "wendy", "password": "scaled-pages-123", "next": "/"}
    landed = browser.open(
        urllib.request.Request(
            base + "/web/login/",
            data=urllib.parse.urlencode({**form, "csrfmiddlewaretoken": csrf}).encode(),
            headers={"Referer": base + "/web/login/"},
        ),
        timeout=30,
    )
    assert landed.status == 200 and landed.url == base + "/", landed.url
    assert "Dashboard" in landed.read().decode()
    for path in ("/web/positions/", "/web/alerts/", "/web/backtests/", "/web/paper/"):
        page = browser.open(base + path, timeout=30)
        assert page.status == 200 and page.url == base + path, (path, page.url)
    trades = browser.open(base + "/web/trades/", timeout=30).read().decode()
    assert "NVDA" in trades and "131.5" in trades
    positions = browser.open(base + "/web/positions/", timeout=30).read().decode()
    assert "NVDA" in positions
    scaled.stop_and_check(signal.SIGINT)
