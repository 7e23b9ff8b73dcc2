"""Private servers for tests that kill, restart or load them: never the machine's shared ones.

- ``RedisServer``: a ``redis-server`` on a free port (no persistence); ``kill()`` / ``start()``.
- ``PostgresCluster``: ``initdb`` into a temporary folder outside /root, run as the
  ``postgres`` user through ``runuser`` on a free port; ``restart()`` is ``pg_ctl restart -m
  fast``.
- ``ServedApp``: TradePulse served by uvicorn in a subprocess on a free port, its log in a file.

Fixtures (pytest): ``private_redis``, ``private_postgres``, ``served`` (uvicorn on SQLite with
the failing views of ``tests.support.served_urls``). Without
``redis-server`` / ``initdb`` the tests that use them skip with a message, or fail when
``TRADEPULSE_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def missing_service(message: str) -> None:
    """Skip (saying what is missing), or fail when the services are required (CI)."""
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; required because TRADEPULSE_REQUIRE_SERVICES=1")
    pytest.skip(message)


def wait_for_port(port: int, *, timeout: float = 30.0, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- Redis -----------------------------------------------------------------------------------
class RedisServer:
    def __init__(self, directory: Path):
        self.binary = shutil.which("redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
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
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    stop = kill


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        missing_service("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- PostgreSQL ------------------------------------------------------------------------------
def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A throw-away cluster owned by ``postgres`` (trust authentication, database ``test``)."""

    def __init__(self):
        self.bin = postgres_bin()
        # Outside root's home, so that the postgres user can enter it.
        self.directory = Path(tempfile.mkdtemp(prefix="tradepulse-pg-", dir="/tmp"))
        os.chmod(self.directory, 0o755)
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/test"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-l",
            str(self.directory / "log"),
            "-w",
            action,
            *extra,
        )

    def init(self) -> None:
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self._pg_ctl("start")
        self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port), "test")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate")

    def destroy(self) -> None:
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False
        )
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    if postgres_bin() is None:
        missing_service("initdb is not installed (apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing_service("runuser is missing: cannot run PostgreSQL as the postgres user")
    cluster = PostgresCluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


# --- TradePulse served by uvicorn ------------------------------------------------------------
def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py`` with ``env``; its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def api_token(env: dict[str, str], username: str) -> str:
    """A new API token of ``username`` (created if missing), as ``create_api_token`` prints it."""
    lines = [line.strip() for line in manage(env, "create_api_token", username).splitlines()]
    return [line for line in lines if line][-1]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a served process: only what the test chooses, nothing of the shell's
    database or Redis settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "DB_NAME",
            "REDIS_URL",
            "PROMETHEUS_MULTIPROC_DIR",
            "DJANGO_SETTINGS_MODULE",
            "METRICS_TOKEN",
        }
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "SQLITE_PATH": str(tmp_path / "served.sqlite3"),
            "ALGO_DATA_DIR": str(tmp_path / "algo"),
            "TRADES_EXPORT_URL": (tmp_path / "exports").as_uri(),
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


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


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_until(condition, timeout: float, interval: float = 0.3):
    """Poll ``condition`` until it returns something true (returned) or ``timeout`` s pass
    (None): a bound on waiting, not a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    return None


def uvicorn_workers(root: int) -> list[int]:
    """The worker processes of the uvicorn supervisor under ``root`` (multiprocessing spawns
    them), in pid order."""
    return sorted(
        pid
        for pid in descendants(root)
        if "spawn_main" in (line := cmdline(pid)) and "resource_tracker" not in line
    )


def connections_held(port: int, pids: list[int]) -> dict[int, int]:
    """pid -> how many established connections to ``port`` that process holds."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    held = dict.fromkeys(pids, 0)
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                held[pid] += os.readlink(fd) in inodes
    return held


@functools.cache
def make_run_flags(root: Path = ROOT) -> tuple[str, ...]:
    """``make run``'s uvicorn flags (the Makefile's UVICORN_FLAGS in ``root``, as make expands
    them)."""
    import shlex

    flags = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "print-flags"],
        input="print-flags:\n\t@echo $(UVICORN_FLAGS)\n",
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(shlex.split(flags))


class ServedApp:
    """``uvicorn config.asgi:application`` (or ``--workers N``) in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1):
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServedApp:
        command = [
            str(VENV_BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *make_run_flags(),
        ]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=60, process=self.process)
        # With several workers the port opens before every worker has imported the app.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        return self

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()


@contextlib.contextmanager
def serving(env: dict[str, str], log_path: Path) -> Iterator[ServedApp]:
    """TradePulse migrated and served by one uvicorn process with ``env``; ``.token`` is the
    API token of a user ``alice``. Stopped on exit."""
    manage(env, "migrate", "--noinput")
    app = ServedApp(env, log_path)
    app.token = api_token(env, "alice")
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedApp]:
    """TradePulse on a migrated SQLite file, one uvicorn process, with the failing test views
    of ``tests.support.served_urls``; ``served.token`` is a user's API token."""
    tmp = tmp_path_factory.mktemp("served")
    env = base_env(tmp, DJANGO_SETTINGS_MODULE="tests.support.served_settings")
    with serving(env, tmp / "uvicorn.log") as app:
        yield app


class ManagedProcess:
    """A TradePulse process (``python manage.py ...``, ``python -m ...``) in its own session,
    its output in a temporary file; ``signal()`` it, ``stop()`` it (SIGTERM, then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix=f"tp-{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)

    def kill_group(self) -> None:
        """SIGKILL to the process and every child it started (a Celery worker's pool), with
        no clean-up anywhere: what a dying machine does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def wait_for_output(self, text: str, *, timeout: float = 30.0) -> None:
        """Wait until the process has printed ``text``; raise with its output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{text!r} never printed; output:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.log.closed:
            return
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(5)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)
