"""Instructions per API request: what the machine's speed and load do not move.

A served request's CPU time moved from 1.7 to 2.6 ms between two hours of the same day, with
the same code (BENCHMARKS.md); the figures of bench/http.py move with it. This counts the
instructions instead, with valgrind's callgrind, which repeats to within a fraction of a
percent whatever else runs on the machine. Each request goes through
``config.asgi.application`` in-process, as uvicorn hands it over (request body limits, the
request threads, Django, DRF, the token check and the queries against PostgreSQL), one after
another; the server's HTTP parsing and socket writes are not counted.

The count is taken for 20 and for 220 requests, and the difference divided by 200, so the
start-up (imports, migrations check) falls out. Several checkouts are measured on one
database, to compare two commits (``git worktree add /tmp/base HEAD~1``):

    .venv/bin/python bench/request_cost.py                       # this checkout, list and POST
    .venv/bin/python bench/request_cost.py --checkout /tmp/base --checkout .

Needs valgrind and PostgreSQL (BENCH_POSTGRES_URL; a scratch database ``bench_cost_<pid>``
holds the bench user's 50,000 trades and is dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    ROOT,
    TRADE_BODY,
    base_env,
    list_paths,
    prepare_ledger,
    scratch_database,
    setup_django,
    stop_cleanly_on_signals,
)

FEW, MANY = 20, 220


def _scope(kind: str, path: str, token: str) -> dict:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Token {token}".encode())]
    if kind == "post":
        path, query = "/api/trades/", ""
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(TRADE_BODY)).encode()),
        ]
    else:
        path, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if kind == "post" else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def serve_requests(setup: dict, kind: str, count: int) -> None:
    """Run ``count`` requests through the ASGI application of the current directory's code
    (run under valgrind by :func:`instructions`)."""
    os.environ.update(base_env(DATABASE_URL=setup["database_url"]))
    sys.path.insert(0, os.getcwd())
    from config.asgi import application

    body = TRADE_BODY.encode() if kind == "post" else b""

    async def one(path: str) -> None:
        sent: list[dict] = []
        received = False

        async def receive() -> dict:
            nonlocal received
            if received:  # past the body: the client stays until the response is sent
                await asyncio.Event().wait()
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await application(_scope(kind, path, setup["token"]), receive, send)
        if sent[0]["status"] not in (200, 201):
            raise SystemExit(f"{kind} answered {sent[0]['status']}: {sent[1:]}")

    async def main() -> None:
        paths = setup["paths"]
        for index in range(count):
            await one(paths[index % len(paths)])

    asyncio.run(main())


def instructions(checkout: Path, setup_file: Path, kind: str, count: int) -> int:
    """Instructions that one process serving ``count`` requests executes, start-up included."""
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/callgrind.out",
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve",
                str(setup_file),
                kind,
                str(count),
            ],
            cwd=checkout,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    found = re.search(r"Collected : ([\d,]+)", result.stderr)
    if result.returncode != 0 or not found:
        raise SystemExit(f"{checkout} {kind} x{count} failed:\n{result.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", type=Path, help="a work tree (repeat)")
    parser.add_argument("--kind", choices=["list", "post"], action="append")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        setup_file, kind, count = args.serve
        serve_requests(json.loads(Path(setup_file).read_text()), kind, int(count))
        return 0
    stop_cleanly_on_signals()
    checkouts = [c.resolve() for c in (args.checkout or [ROOT])]
    kinds = args.kind or ["list", "post"]
    rows = []
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database("bench_cost"))
        setup_django(database_url)
        data = prepare_ledger(50_000)
        paths, _ = list_paths(data["user_id"], 50_000, 100)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        setup_file = folder / "setup.json"
        setup_file.write_text(
            json.dumps({"database_url": database_url, "token": data["token"], "paths": paths})
        )
        for kind in kinds:
            for checkout in checkouts:
                few = instructions(checkout, setup_file, kind, FEW)
                many = instructions(checkout, setup_file, kind, MANY)
                per_request = (many - few) / (MANY - FEW)
                rows.append((kind, checkout, per_request))
                print(f"{kind} {checkout}: {per_request / 1e6:.3f} M instructions per request")
    print()
    print("| Request | Checkout | Million instructions per request |")
    print("|---|---|---:|")
    for kind, checkout, per_request in rows:
        print(f"| {kind} | `{checkout}` | {per_request / 1e6:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
