"""Browser tests: pytest-playwright's ``page`` fixture on Debian's chromium (never a
downloaded browser), and a real server process over a replayed feed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    message = (
        f"{CHROMIUM} is missing; install it with: apt-get install -y chromium "
        "fonts-noto-color-emoji"
    )
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (required because TRADEPULSE_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _need_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The ASGI app in a server process of its own (the server ``make run`` starts)."""

    def __init__(self, env: dict, log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        bindir = str(Path(sys.executable).parent)
        uvicorn = shutil.which("uvicorn", path=bindir)
        if uvicorn:
            return [uvicorn, "config.asgi:application", "--host", "127.0.0.1",
                    "--port", str(self.port)]  # fmt: skip
        daphne = shutil.which("daphne", path=bindir) or "daphne"
        return [daphne, "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"]

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        "the server did not start:\n" + self.log_path.read_text()
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None


def server_env(tmp: Path, **extra: str) -> dict:
    """The embedded default (SQLite, in-process feed) in a folder of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DB_NAME", "REDIS_URL", "PYTHONPYCACHEPREFIX"}
    }
    env.update(
        SQLITE_PATH=str(tmp / "db.sqlite3"),
        ALGO_DATA_DIR=str(tmp / "algo"),
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def create_user(env: dict, username: str, password: str) -> None:
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({username!r}, password={password!r})",
    )
