"""Start the scale-out mode on this machine: check DATABASE_URL and REDIS_URL, migrate, empty
the metrics folder, write a supervisord configuration from ``Procfile``, then hand over to
supervisord, which runs the processes of ``Procfile`` (``web`` with WEB_CONCURRENCY workers on
127.0.0.1:$PORT, two ``feed``, ``worker``, ``beat``) and restarts any of them that dies.

Usage: ``make run-scaled`` or ``.venv/bin/python scripts/run_scaled.py``. This process becomes
supervisord (exec), so SIGINT or SIGTERM to it stops every process it started. The generated
configuration is ``var/run-scaled/$PORT/supervisord.conf``; while it runs,
``.venv/bin/supervisorctl -c var/run-scaled/$PORT/supervisord.conf status`` lists the processes.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# How many processes of a Procfile entry run on this machine (every other entry: one).
PROCESS_COUNTS = {"feed": 2}
# On SIGINT/SIGTERM supervisord stops every process at once: SIGTERM to its process group, then
# SIGKILL to the group after STOP_WAIT_SECONDS (uvicorn's graceful shutdown takes at most 5 s),
# so that all of them are gone within 10 s.
STOP_WAIT_SECONDS = 7
# A process that exits within START_SECONDS of being started is started again after 1, 2, 3...
# seconds, START_RETRIES times, then given up (state FATAL, logged) while the others keep
# running. One that exits later is started again at once, every time.
START_SECONDS = 1
START_RETRIES = 10

PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(\S.*)$")


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """The ``name: command`` entries of a Procfile, in order (comments and blank lines
    skipped)."""
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = PROCFILE_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name} line {number}: expected 'name: command'")
        name, command = match.groups()
        if any(name == seen for seen, _ in entries):
            raise ValueError(f"{path.name} line {number}: {name!r} is declared twice")
        entries.append((name, command.strip()))
    return entries


def supervisord_config(entries: list[tuple[str, str]], directory: Path) -> str:
    """supervisord's configuration: one program per Procfile entry, run as ``sh -c 'exec
    <command>'`` (so $PORT and ${WEB_CONCURRENCY:-2} expand as in a shell, and the shell then
    becomes the command: supervisord waits for the command itself to stop, and SIGKILLs its
    group when it does not), restarted whenever it exits, its output on supervisord's
    standard output; all in one group, stopped together."""

    def value(text: str) -> str:  # supervisord expands %(name)s in its values
        return text.replace("%", "%%")

    lines = [
        "; Written by scripts/run_scaled.py from Procfile at each start; edit the Procfile.",
        "[supervisord]",
        "nodaemon=true",
        f"directory={value(str(ROOT))}",
        f"logfile={value(str(directory / 'supervisord.log'))}",
        "logfile_maxbytes=1MB",
        "logfile_backups=1",
        f"pidfile={value(str(directory / 'supervisord.pid'))}",
        f"childlogdir={value(str(directory))}",
    ]
    if os.geteuid() == 0:
        lines.append("user=root")  # says that running as root is intended (no warning)
    socket = value(str(directory / "supervisor.sock"))
    lines += [
        "",
        "[unix_http_server]",
        f"file={socket}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket}",
    ]
    for name, command in entries:
        count = PROCESS_COUNTS.get(name, 1)
        lines += [
            "",
            f"[program:{name}]",
            f"command=/bin/sh -c {value(shlex.quote('exec ' + command))}",
            "process_name=%(program_name)s" + (".%(process_num)d" if count > 1 else ""),
            f"numprocs={count}",
            "numprocs_start=1",
            f"directory={value(str(ROOT))}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
        ]
    lines += ["", "[group:tradepulse]", f"programs={','.join(name for name, _ in entries)}"]
    return "\n".join(lines) + "\n"


def append_to_stdout() -> None:
    """When standard output is a file, make every write to it an append: supervisord writes
    its own lines to this descriptor and each program's output through /dev/stdout opened
    again, and without O_APPEND they would overwrite each other."""
    try:
        if stat.S_ISREG(os.fstat(1).st_mode):
            flags = fcntl.fcntl(1, fcntl.F_GETFL)
            fcntl.fcntl(1, fcntl.F_SETFL, flags | os.O_APPEND)
    except OSError:
        pass


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    try:
        django.setup()
    except Exception as exc:  # a malformed variable: say it in one line
        print(f"run-scaled: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    if not settings.DATABASE_URL:
        print(
            "run-scaled: DATABASE_URL is required (e.g. postgres://postgres@127.0.0.1:5432/tradepulse)",
            file=sys.stderr,
        )
        return 2
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("run-scaled: DATABASE_URL must point at PostgreSQL (postgres://...)", file=sys.stderr)
        return 2
    if not settings.REDIS_URL:
        print("run-scaled: REDIS_URL is required (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2

    from django.core.management import call_command

    try:
        call_command("migrate", interactive=False, verbosity=1)
    except Exception as exc:
        print(f"run-scaled: migrate failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    from django.db import connections

    connections.close_all()

    port = os.environ.get("PORT") or "8000"
    metrics_dir = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or ROOT / "var" / "metrics" / port
    )
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    (ROOT / "var").mkdir(exist_ok=True)

    try:
        entries = read_procfile(ROOT / "Procfile")
    except (OSError, ValueError) as exc:
        print(f"run-scaled: {exc}", file=sys.stderr)
        return 2
    directory = ROOT / "var" / "run-scaled" / port
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "supervisord.conf"
    config.write_text(supervisord_config(entries, directory))

    env = dict(os.environ)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env["PORT"] = port
    env.setdefault("WEB_CONCURRENCY", "2")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    print(
        f"run-scaled: {env['WEB_CONCURRENCY']} web workers on http://127.0.0.1:{port}/, "
        "2 feeds, a Celery worker and Celery beat, restarted when they die "
        f"(Ctrl-C stops them all; configuration {config.relative_to(ROOT)})",
        flush=True,
    )
    append_to_stdout()
    supervisord = str(BIN / "supervisord")
    os.execve(supervisord, [supervisord, "-n", "-c", str(config)], env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
