"""WebSocket fan-out in the scaled mode: thousands of clients across the web workers.

The scaled mode's live path: ``WEB_CONCURRENCY`` uvicorn worker processes serving
``config.asgi:application`` with the Redis pub/sub channel layer (a private redis-server on a
free port), and one feed process (``bench/live_feed.py``: TradePulse's ``FeedRunner`` over a
synthetic provider at 10 ticks/s per ticker, coalesced to one message per ticker per 100 ms).
The clients (bench/live.py's client, 10 tickers, token in the first message) run in separate
processes and time every tick message from the tick's event timestamp. At 2,000 clients every
client can get 10 messages/s: 20,000 delivered messages/s is everything offered.

Reported per row: delivered messages/s, latency p50/p99/max, clients connected, and the CPU
time each process used over the measured window (where the time goes).

    .venv/bin/python bench/fanout.py            # 1,000 and 2,000 clients, 2 workers, 8 s
    .venv/bin/python bench/fanout.py --quick    # 200 clients, 4 s

Needs redis-server and PostgreSQL (BENCH_POSTGRES_URL; a scratch database ``bench_fanout_<pid>``
holds the clients' user and token, and is dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    BIN,
    ROOT,
    Process,
    base_env,
    free_port,
    loadavg,
    prepare_ledger,
    private_redis,
    scratch_database,
    server_command,
    setup_django,
    stop_cleanly_on_signals,
    tree_pids,
    wait_http,
    ws_clients,
)


@contextmanager
def scaled_live(env: dict, workers: int, logdir: Path):
    """Web workers (uvicorn --workers N) and one feed process on the Redis channel layer."""
    port = free_port()
    feed = Process(
        [str(BIN / "python"), str(ROOT / "bench" / "live_feed.py")],
        env,
        "feed",
        logdir / f"feed-{port}.log",
    )
    web = Process(
        server_command("uvicorn", "config.asgi:application", port, workers),
        {**env, "WEB_CONCURRENCY": str(workers)},
        f"web x{workers}",
        logdir / f"web-{port}.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web)
        time.sleep(1.0)  # every worker up, not only the first to answer
        web.port = port
        yield web, feed
    finally:
        web.stop()
        feed.stop()


def run_row(env, token, workers, clients, seconds, client_procs, redis, logdir) -> dict:
    before = loadavg()
    with scaled_live(env, workers, logdir) as (web, feed):
        workers_pids = [p for p in tree_pids(web.pid) if p != web.pid]
        watched = [("feed", feed.pid, True), ("redis", redis.pid, False)]
        watched += [(f"web worker {i + 1}", p, True) for i, p in enumerate(workers_pids)]
        result = ws_clients(
            web.port, token, clients, seconds, processes=client_procs, cpu_of=watched
        )
    result["load"] = f"{before} -> {loadavg()}"
    result.update(workers=workers, clients=clients, client_procs=client_procs)
    print(
        f"{workers} workers, {clients} clients: {result['per_second']:,.0f} msg/s, "
        f"p50 {result['p50'] or 0:.0f} ms, p99 {result['p99'] or 0:.0f} ms, "
        f"{result['connected']} connected; cpu "
        + ", ".join(f"{k} {v:.1f}s" for k, v in result["cpu"].items())
        + f" over {result['window']:.1f}s; load {result['load']}",
        file=sys.stderr,
    )
    return result


def ms(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 clients, 4 s")
    parser.add_argument("--clients", help="client counts, comma-separated (default 1000,2000)")
    parser.add_argument("--workers", type=int, default=2, help="web workers (default 2)")
    parser.add_argument("--seconds", type=float, help="measured seconds per row (default 8)")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes (2)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    stop_cleanly_on_signals()
    counts = [int(c) for c in args.clients.split(",")] if args.clients else None
    counts = counts or ([200] if args.quick else [1000, 2000])
    seconds = args.seconds or (4.0 if args.quick else 8.0)
    logdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    rows = []
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database("bench_fanout"))
        redis = stack.enter_context(private_redis())
        setup_django(db_url)
        token = prepare_ledger(0)["token"]
        env = base_env(DATABASE_URL=db_url, REDIS_URL=redis.url, BENCH_RATE="10")
        for count in counts:
            rows.append(
                run_row(env, token, args.workers, count, seconds, args.client_procs, redis, logdir)
            )

    print(
        f"\nScaled mode: {args.workers} uvicorn web workers + 1 feed process, Redis pub/sub "
        f"layer (private redis-server), synthetic provider at 10 ticks/s per ticker over 10 "
        f"tickers, {seconds:g} s measured per row, clients in {args.client_procs} separate "
        f"processes; {os.cpu_count()} cores shared with the clients and other work.\n"
    )
    print(
        "| clients | offered msg/s | delivered msg/s | p50 ms | p99 ms | max ms | connected "
        "| CPU s per s: web workers / feed / redis / clients | load before -> after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        cpu, w = r["cpu"], r["window"]
        web = sum(v for k, v in cpu.items() if k.startswith("web")) / w
        workers = " + ".join(f"{v / w:.2f}" for k, v in cpu.items() if k.startswith("web"))
        clients = sum(v for k, v in cpu.items() if k.startswith("client")) / w
        print(
            f"| {r['clients']:,} | {r['clients'] * 10:,} | {r['per_second']:,.0f} | "
            f"{ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} | {r['connected']:,} | "
            f"{web:.2f} ({workers}) / {cpu['feed'] / w:.2f} / {cpu['redis'] / w:.2f} / "
            f"{clients:.2f} | {r['load']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
