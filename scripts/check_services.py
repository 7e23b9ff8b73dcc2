"""Exit 0 if the named test service is reachable. Otherwise say how to provide it and exit 3
(skip) — or exit 1 when TRADEPULSE_REQUIRE_SERVICES=1 (CI), so a missing server fails the run.

Usage: python scripts/check_services.py postgres|redis
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse

SERVICES = {
    "postgres": (
        "TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
        "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "redis": (
        "TEST_REDIS_URL",
        "redis://127.0.0.1:6379/15",
        'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
}


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2
        ):
            return True
    except OSError:
        return False


def main(name: str) -> int:
    variable, default, hint = SERVICES[name]
    url = os.environ.get(variable, default)
    if reachable(url):
        return 0
    message = f"{name} is not reachable at {url}; its tests are skipped. Set {variable} or {hint}."
    if os.environ.get("TRADEPULSE_REQUIRE_SERVICES") == "1":
        print(f"ERROR: {message} (required because TRADEPULSE_REQUIRE_SERVICES=1)", file=sys.stderr)
        return 1
    print(f"SKIPPED: {message}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
