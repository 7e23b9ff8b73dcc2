"""Private servers and processes for fault tests: they may be killed and restarted, unlike
the machine's shared Redis and PostgreSQL.

* :class:`RedisServer` runs its own ``redis-server`` on a free loopback port in a temporary
  folder: :meth:`~RedisServer.start`, :meth:`~RedisServer.kill` (SIGKILL),
  :meth:`~RedisServer.stop` and :meth:`~RedisServer.restart` on the same port.
* :class:`ManagedProcess` runs a command in a process group of its own, so ``kill()`` takes
  down its children too (a Celery worker's pool), as a dying machine would.
* :func:`require_binary` skips a test when a server binary is missing, saying so, or fails it
  when ``TRADEPULSE_REQUIRE_SERVICES=1`` (CI).
* The ``private_redis`` fixture: a started :class:`RedisServer`, stopped after the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest


def require_binary(name: str, hint: str = "") -> str:
    """The path of the executable ``name``; skips the test (fails it under
    ``TRADEPULSE_REQUIRE_SERVICES=1``) when it is not installed."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed; this test starts a private {name}" + (
        f" ({hint})" if hint else ""
    )
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; required because TRADEPULSE_REQUIRE_SERVICES=1")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 10.0, up: bool = True) -> None:
    """Wait until ``127.0.0.1:port`` accepts connections (or, with ``up=False``, refuses)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not {'open' if up else 'close'} within {timeout} s")


class ManagedProcess:
    """A command in its own process group, its output in ``log``."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.args = list(args)
        self.log = log
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if not self.running:
                break
            time.sleep(0.05)
        raise TimeoutError(f"{self.args[:4]} never printed {text!r}:\n{self.output()[-3000:]}")

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up runs, as when a machine dies."""
        self.signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the group, SIGKILL after ``timeout`` seconds."""
        if not self.running:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            self.kill()


class RedisServer:
    """A private ``redis-server`` (no persistence) on a free port of 127.0.0.1."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.binary = require_binary("redis-server", "apt-get install redis-server")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="tp-redis-"))
        self.port = port or free_port()
        self.process: ManagedProcess | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        self.process = ManagedProcess(args, log=self.folder / "redis.log").start()
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
        wait_for_port(self.port, up=False)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self) -> RedisServer:
        """Start again on the same port (after :meth:`kill` or :meth:`stop`)."""
        self.stop()
        return self.start()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)
