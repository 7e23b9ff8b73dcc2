"""One setting, several values: ``make run``'s server (or ``make run-scaled``) started once per
value on one scratch table, measured by wrk in turn, round after round, so that every value
sees the same machine.

    .venv/bin/python bench/http_ab.py HTTP_CONCURRENCY=20 HTTP_CONCURRENCY=4
    .venv/bin/python bench/http_ab.py --kind post --scaled HTTP_CONCURRENCY=20 HTTP_CONCURRENCY=4

Each argument is one server's extra environment (``NAME=VALUE``, several joined by ``,``;
``-`` for none). ``CHECKOUT=PATH`` is not passed on: that server runs the code of the work tree
at PATH (``git worktree add /tmp/base HEAD~1``), to compare two commits the same way:

    .venv/bin/python bench/http_ab.py CHECKOUT=/tmp/base -

``--kind health`` and ``--kind empty`` measure requests that do less than a list page (see
``FLOOR``), so that a page's own cost can be told from what every request costs.

Prints every run (with ``--scaled``, how wrk's connections were split over
the web workers 2 s into it), then the medians per server. 50,000 trades (the
bench user's, as bench/http.py makes them), wrk 16 connections.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_ledger import one_process, scaled  # noqa: E402
from bench.served import (  # noqa: E402
    ROOT,
    base_env,
    connection_split,
    fmt_wrk,
    get_script,
    list_paths,
    loadavg,
    post_script,
    prepare_ledger,
    private_redis,
    scratch_database,
    setup_django,
    stop_cleanly_on_signals,
    wrk,
)

# Requests cheaper than a list page, each doing less of its work: what a page costs beyond them
# is what its own work costs.
FLOOR = {
    "health": ("/healthz", "Django's handler, middleware and one SELECT 1; no DRF, no token"),
    "empty": (
        "/api/trades/?ticker=NONE",
        "a list page's query, matching no trade: no rows, no links",
    ),
}


def _environment(text: str) -> dict[str, str]:
    if text == "-":
        return {}
    return dict(item.split("=", 1) for item in text.split(","))


def _sample_split(server, into: list[int]) -> None:
    time.sleep(2)
    into.extend(connection_split(server.port, server.pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", help="NAME=VALUE[,NAME=VALUE...] or - per server")
    parser.add_argument(
        "--kind",
        choices=["list", "post", *FLOOR],
        action="append",
        help="list pages (the default), single POSTs, or a cheaper request for comparison: "
        + "; ".join(f"{name}: {what}" for name, (_, what) in FLOOR.items())
        + ". Repeat to measure several kinds in each round.",
    )
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--scaled", action="store_true", help="make run-scaled's processes")
    args = parser.parse_args()
    kinds = args.kind or ["list"]
    stop_cleanly_on_signals()
    logdir = Path(tempfile.mkdtemp(prefix="bench-http-ab-"))
    print(f"load average at the start: {loadavg()}")
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database("bench_http_ab"))
        setup_django(db_url)
        data = prepare_ledger(50_000)
        ours, _ = list_paths(data["user_id"], 50_000, 100)
        token = data["token"]
        scripts = {
            kind: post_script(token)
            if kind == "post"
            else get_script(token, ours if kind == "list" else [FLOOR[kind][0]])
            for kind in kinds
        }
        servers = {}
        for index, text in enumerate(args.servers):
            folder = logdir / str(index)
            (folder / "metrics").mkdir(parents=True)
            extra = _environment(text)
            checkout = Path(extra.pop("CHECKOUT", ROOT)).resolve()
            if args.scaled:
                redis = stack.enter_context(private_redis())
                env = base_env(DATABASE_URL=db_url, REDIS_URL=redis.url, **extra)
                servers[text] = stack.enter_context(scaled(env, 2, folder, checkout))
            else:
                env = base_env(
                    DATABASE_URL=db_url, PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"), **extra
                )
                servers[text] = stack.enter_context(one_process(env, folder, checkout))
        for server in servers.values():
            for script in scripts.values():
                wrk(server.port, script, 2)  # warm-up
        runs: dict[tuple[str, str], list[dict]] = {
            (name, kind): [] for name in servers for kind in kinds
        }
        for _ in range(args.rounds):
            for name, server in servers.items():
                for kind, script in scripts.items():
                    split: list[int] = []
                    sampler = threading.Thread(target=_sample_split, args=(server, split))
                    if args.scaled:
                        sampler.start()
                    run = wrk(server.port, script, args.seconds, cpu_pid=server.pid)
                    if args.scaled:
                        sampler.join()
                    runs[name, kind].append(run)
                    shares = (
                        f"; connections per worker {'/'.join(map(str, split))}" if split else ""
                    )
                    print(f"{name} {kind}: {fmt_wrk(run)}{shares}; load {loadavg()}", flush=True)
    print()
    print("| Server environment | Request | req/s | p50 ms | p99 ms | server CPU ms per request |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, kind), found in runs.items():
        cpu = [r["cpu_ms_per_request"] for r in found if r.get("cpu_ms_per_request")]
        print(
            f"| {name} | {kind} | {statistics.median(r['rps'] for r in found):,.0f} "
            f"| {statistics.median(r['p50'] for r in found):.1f} "
            f"| {statistics.median(r['p99'] for r in found):.1f} "
            f"| {statistics.median(cpu) if cpu else float('nan'):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
