"""What the benchmarks over real HTTP share: servers started as processes, wrk as the load,
a scratch PostgreSQL database, a private redis-server, the machine's load.

Nothing here is imported by TradePulse. Every process started here is started in its own
session (process group) and stopped by that group's id.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "BRK.B", "JPM", "V"]
TRADE_BODY = '{"ticker":"AAPL","side":"buy","price":"189.25","quantity":"10"}'


def stop_cleanly_on_signals() -> None:
    """SIGTERM (and SIGINT, even where a background shell ignores it) unwind the driver, so
    that every server, redis-server and scratch database it started is stopped and dropped."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def drain(port: int, timeout: float = 300.0) -> None:
    """Wait until the server at ``port`` has answered what is still queued: a sync worker keeps
    serving the requests of closed connections from its backlog after a wrk run ends."""
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=timeout, attempt=timeout)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The servers' environment: production settings over plain loopback HTTP."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DB_NAME", "REDIS_URL", "PYTHONPYCACHEPREFIX"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        # The throttles still run on every request; the limit is out of the way.
        THROTTLE_USER="100000000/min",
        THROTTLE_ANON="100000000/min",
        # Every benchmark client uses the same user's token.
        LIVE_WS_MAX_PER_USER="1000000",
    )
    env.setdefault("DJANGO_SECRET_KEY", "bench-" + "k" * 50)
    env.update(extra)
    return env


# -- PostgreSQL -----------------------------------------------------------------------------


def admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(prefix: str):
    """A database of its own on the shared server (``<prefix>_<pid>``), dropped afterwards."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    admin = admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(admin)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str) -> None:
    for key, value in base_env(DATABASE_URL=database_url).items():
        os.environ[key] = value
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_ledger(rows: int) -> dict:
    """Migrate, create the bench user (and another owner), its API token, and ``rows`` trades.

    Needs ``setup_django`` first. Returns {"token", "user_id", "rows"}.
    """
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.create_user("bench")
    other = User.objects.create_user("other")
    token = make_token(user)
    started = time.perf_counter()
    from bench.ledger import fill

    if rows:
        fill(user.id, other.id, 1, rows)
    print(f"loaded {rows:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    connections.close_all()
    return {"token": token, "user_id": user.id, "rows": rows}


def make_token(user) -> str:
    """An API token for ``user`` (a hashed knox token that never expires)."""
    from api.tokens import token_issue

    return token_issue(user=user, ttl=None)[1]


def list_paths(user_id: int, total_rows: int, count: int, seed: int = 7) -> tuple[list, list]:
    """Filtered list pages (ticker in lower case + a date range starting in the first quarter)
    at random depths: ours by cursor, the peer's by page number (same rows, as bench/ledger.py)."""
    from django.db import connections

    from api.pagination import KeysetPagination
    from ledger.models import Trade

    rng = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    ours, peer = [], []
    for _ in range(count):
        ticker = rng.choice(TICKERS)
        start = base + timedelta(seconds=rng.randint(0, total_rows // 4))
        end = base + timedelta(seconds=total_rows)
        depth = rng.random()
        query = (
            f"ticker={ticker.lower()}&start_date={start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f"&end_date={end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        matching = Trade.objects.filter(
            owner_id=user_id, ticker=ticker, timestamp__gte=start, timestamp__lte=end
        ).count()
        page = max(1, min(int(depth * matching / 100) + 1, -(-matching // 100)))
        cursor_at = end - timedelta(seconds=int(depth * (end - start).total_seconds()))
        token = KeysetPagination.encode(cursor_at, 10**12, False)
        ours.append(f"/api/trades/?{query}&cursor={token}")
        peer.append(f"/peer/trades/?{query}&page={page}")
    connections.close_all()
    return ours, peer


# -- processes ------------------------------------------------------------------------------


def server_command(kind: str, app: str, port: int, workers: int = 1) -> list[str]:
    """The command line of each server compared, all on 127.0.0.1:port, no access log."""
    host = "127.0.0.1"
    if kind == "daphne":
        if workers != 1:
            raise ValueError("daphne runs one process")
        return [str(BIN / "daphne"), "-b", host, "-p", str(port), app]
    if kind == "uvicorn":
        cmd = [
            str(BIN / "uvicorn"),
            "--host",
            host,
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--ws",
            "websockets",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        return [*cmd, app]
    if kind == "gunicorn-uvicorn":
        return [
            str(BIN / "gunicorn"),
            "-k",
            "uvicorn_worker.UvicornWorker",
            "-w",
            str(workers),
            "-b",
            f"{host}:{port}",
            "--log-level",
            "warning",
            app,
        ]
    if kind == "granian":
        return [
            str(BIN / "granian"),
            "--interface",
            "asgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
            app,
        ]
    if kind == "gunicorn-sync":
        return [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            # The peer's bulk save may take longer than the default 30 s on a busy machine.
            "--timeout",
            "300",
            "-b",
            f"{host}:{port}",
            "--log-level",
            "warning",
            app,
        ]
    raise ValueError(kind)


def make_run_command(port: int, root: Path = ROOT) -> list[str]:
    """``make run``'s server command line (the UVICORN_FLAGS of the Makefile in ``root``, as make
    expands them)."""
    from tests.support.servers import make_run_flags

    return [
        str(BIN / "uvicorn"),
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *make_run_flags(root),
    ]


def procfile_command(process: str, port: int, workers: int) -> list[str]:
    """A ``Procfile`` entry's command line, with $PORT and ${WEB_CONCURRENCY:-2} filled in."""
    import re
    import shlex

    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{process}:"):
            command = line.split(":", 1)[1]
            command = re.sub(r"\$\{WEB_CONCURRENCY:-\d+\}", str(workers), command)
            command = command.replace("$PORT", str(port))
            argv = shlex.split(command)
            return [str(BIN / argv[0]), *argv[1:]] if (BIN / argv[0]).exists() else argv
    raise RuntimeError(f"no {process!r} entry in Procfile")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_pids(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def connection_split(port: int, root: int) -> list[int]:
    """How many established connections to ``port`` each uvicorn worker under ``root`` holds:
    the workers' shares of the clients, largest first (zeros included)."""
    from tests.support.servers import connections_held, uvicorn_workers

    return sorted(connections_held(port, uvicorn_workers(root)).values(), reverse=True)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """CPU time (user + system) of a process and (``tree``) all its descendants, now alive."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(pid) if tree else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


class Process:
    """A process started in its own session, stopped by its group id."""

    def __init__(
        self, cmd: list[str], env: dict, name: str, log: Path | None = None, cwd: Path = ROOT
    ):
        self.name = name
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        if log:
            out.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM to the group; SIGKILL after ``timeout``. Returns the seconds it took."""
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"{self.name} ignored SIGTERM for {timeout:g}s: killed", file=sys.stderr)
            self.signal(signal.SIGKILL)
            self.proc.wait(5)
        # Workers left behind by a master that died first.
        self.signal(signal.SIGKILL)
        return time.monotonic() - started

    def tail(self, lines: int = 20) -> str:
        if not self.log or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_http(
    url: str, proc: Process | None = None, timeout: float = 60.0, attempt: float = 2.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=attempt).read()
            return
        except OSError:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {timeout:g}s") from None
            time.sleep(0.2)


@contextmanager
def serve(kind: str, app: str, env: dict, workers: int = 1, logdir: Path | None = None):
    with serve_command(
        lambda port: server_command(kind, app, port, workers), env, f"{kind} x{workers}", logdir
    ) as proc:
        yield proc


@contextmanager
def serve_command(
    command,
    env: dict,
    name: str,
    logdir: Path | None = None,
    settle: float = 0,
    cwd: Path = ROOT,
):
    """Start ``command(port)`` in ``cwd`` on a free port, wait for /healthz (then ``settle``
    seconds, for every worker to be up), yield the process (``.port``), stop its group
    afterwards."""
    port = free_port()
    log = (logdir / f"{name.split()[0]}-{port}.log") if logdir else None
    proc = Process(command(port), {**env, "PORT": str(port)}, name, log, cwd)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=120)
        time.sleep(settle)
        proc.port = port
        yield proc
    finally:
        took = proc.stop(15)
        if took > 5:
            print(f"{name} took {took:.1f}s to stop", file=sys.stderr)


@contextmanager
def private_redis():
    """A redis-server of our own on a free port (no persistence), stopped afterwards."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    cmd = [
        exe,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
        "--maxclients",
        "10000",
    ]
    proc = Process(cmd, dict(os.environ), "redis-server", folder / "log")
    proc.port = port
    proc.url = f"redis://127.0.0.1:{port}/0"
    proc.cmd = cmd
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start:\n{proc.tail()}")
        time.sleep(0.1)
    try:
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- wrk ------------------------------------------------------------------------------------

_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nRESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
    .. '"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def post_script(token: str, path: str = "/api/trades/", body: str = TRADE_BODY) -> str:
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Token {token}"\n'
        f'wrk.path = "{path}"\n' + _DONE
    )


def get_script(token: str, paths: list[str]) -> str:
    items = ",\n".join(_lua_string(p) for p in paths)
    return (
        f'wrk.headers["Authorization"] = "Token {token}"\n'
        f"paths = {{\n{items}\n}}\n"
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  return wrk.format(nil, paths[(counter % #paths) + 1])\n"
        "end\n" + _DONE
    )


def wrk(
    port: int,
    script: str,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    cpu_pid: int | None = None,
) -> dict:
    """Runs wrk (a separate process) against 127.0.0.1:port; req/s, p50/p99 in ms, errors, and
    with ``cpu_pid`` the CPU milliseconds that process tree spent per completed request."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    cpu_before = cpu_seconds(cpu_pid) if cpu_pid else 0.0
    try:
        out = subprocess.run(
            [
                exe,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(handle.name)
    cpu_used = cpu_seconds(cpu_pid) - cpu_before if cpu_pid else None
    drain(port)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("RESULT ") :])
    errors = sum(raw[k] for k in raw if k.endswith("errors") or k == "timeouts")
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50": raw["p50_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
        "max": raw["max_us"] / 1000,
        "requests": raw["requests"],
        "errors": errors,
        "cpu_ms_per_request": (
            cpu_used * 1000 / raw["requests"] if cpu_used is not None and raw["requests"] else None
        ),
        "raw": raw,
    }


def fmt_wrk(r: dict) -> str:
    err = f", {r['errors']} errors" if r["errors"] else ""
    cpu = r.get("cpu_ms_per_request")
    cpu = f", server CPU {cpu:.1f} ms/request" if cpu is not None else ""
    return f"{r['rps']:,.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms{err}{cpu}"


# -- WebSocket clients ----------------------------------------------------------------------


def ws_clients(
    port: int,
    token: str,
    count: int,
    seconds: float,
    processes: int = 1,
    cpu_of: list | None = None,
    connect_seconds: float = 40.0,
) -> dict:
    """``count`` WebSocket clients (bench/live.py's client, 10 tickers, token in the first
    message) in ``processes`` separate processes; every tick message timed from its event
    timestamp. ``cpu_of``: pids whose process trees' CPU time is sampled over the window in
    which the clients measure (or ``(label, pid, tree)``; the clients' own CPU time is
    sampled too, as ``client <n>``). Returns messages/s, latency p50/p99/max (ms), connections, and
    the CPU seconds used by those processes during the window."""
    import threading

    folder = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    procs, events = [], []
    cpu = {}
    try:
        for i in range(processes):
            share = count // processes + (1 if i < count % processes else 0)
            env = base_env(
                BENCH_LATENCY_FILE=str(folder / f"lat{i}.json"),
                BENCH_CONNECT_SECONDS=str(connect_seconds),
            )
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "bench" / "live.py"),
                    "--client",
                    f"ws://127.0.0.1:{port}",
                    token,
                    str(share),
                    str(seconds),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            procs.append(proc)
            events.append({"measuring": threading.Event(), "measured": threading.Event()})
        outputs: list[list[str]] = [[] for _ in procs]

        def reader(index: int) -> None:
            for line in procs[index].stdout:
                line = line.strip()
                if line in events[index]:
                    events[index][line].set()
                else:
                    outputs[index].append(line)

        threads = [
            threading.Thread(target=reader, args=(i,), daemon=True) for i in range(len(procs))
        ]
        for t in threads:
            t.start()
        for e in events:
            e["measuring"].wait(connect_seconds + 30)
        watched = [(p, p, True) if isinstance(p, int) else p for p in cpu_of or []]
        watched += [(f"client {i}", proc.pid, True) for i, proc in enumerate(procs)]
        cpu_start = {label: cpu_seconds(pid, tree) for label, pid, tree in watched}
        t0 = time.monotonic()
        for e in events:
            e["measured"].wait(seconds + 30)
        window = time.monotonic() - t0
        for label, pid, tree in watched:
            cpu[label] = cpu_seconds(pid, tree) - cpu_start[label]
        for proc in procs:
            proc.wait(120)
        for t in threads:
            t.join(5)
        results = [json.loads(out[-1]) for out in outputs if out]
        latencies: list[float] = []
        for i in range(len(procs)):
            f = folder / f"lat{i}.json"
            if f.exists():
                latencies.extend(json.loads(f.read_text()))
        latencies.sort()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "connected": sum(r["connected"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "closed": sum(r["closed"] for r in results),
        "messages": sum(r["messages"] for r in results),
        "per_second": sum(r["per_second"] for r in results),
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] * 1000 if latencies else None,
        "window": window,
        "cpu": cpu,
    }
