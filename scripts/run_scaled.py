"""Start the scale-out mode on this machine: check DATABASE_URL and REDIS_URL, migrate, empty
the metrics folder, then hand over to honcho, which runs the processes of ``Procfile``
(``web`` with WEB_CONCURRENCY workers on 127.0.0.1:$PORT, two ``feed``, ``worker``, ``beat``).

Usage: ``make run-scaled`` or ``.venv/bin/python scripts/run_scaled.py``. This process becomes
honcho (exec), so SIGINT or SIGTERM to it stops every process it started.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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

    env = dict(os.environ)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.setdefault("WEB_CONCURRENCY", "2")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    print(
        f"run-scaled: {env['WEB_CONCURRENCY']} web workers on http://127.0.0.1:{port}/, "
        "2 feeds, a Celery worker and Celery beat (Ctrl-C stops them all)",
        flush=True,
    )
    honcho = str(BIN / "honcho")
    os.execve(
        honcho,
        [honcho, "start", "-f", str(ROOT / "Procfile"), "-c", "feed=2", "-p", port],
        env,
    )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
