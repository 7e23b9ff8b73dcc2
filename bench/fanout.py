"""WebSocket fan-out on ``make run-scaled``: thousands of clients across the web workers.

Starts the scale-out mode as ``make run-scaled`` does (``scripts/run_scaled.py``: honcho runs
the ``Procfile``: WEB_CONCURRENCY=2 uvicorn web workers, two feeds of which one leads, a Celery
worker and beat) with the Redis pub/sub channel layer on a private redis-server and the
simulated provider at 10 ticks/s per ticker (the feed coalesces to one message per ticker per
100 ms). The clients (bench/live.py's client, 10 tickers, token in the first message) run in
separate processes and time every tick message from the tick's event timestamp. At 2,000
clients every client can get 10 messages/s: 20,000 delivered messages/s is everything offered.

Reported per row: delivered messages/s, latency p50/p99/max, clients connected, and the CPU
time each process used over the measured window (where the time goes).

    .venv/bin/python bench/fanout.py            # 1,000 and 2,000 clients, 8 s each
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    ROOT,
    base_env,
    cmdline,
    loadavg,
    prepare_ledger,
    private_redis,
    scratch_database,
    serve_command,
    setup_django,
    stop_cleanly_on_signals,
    tree_pids,
    ws_clients,
)


@contextmanager
def scaled_live(env: dict, workers: int, logdir: Path):
    """``make run-scaled`` (scripts/run_scaled.py: honcho runs the Procfile) with the simulated
    provider at 10 ticks/s per ticker."""
    env = {
        **env,
        "WEB_CONCURRENCY": str(workers),
        "MARKET_DATA_PROVIDER": "simulated",
        "MARKET_SIM_RATE": "10",
        "PROMETHEUS_MULTIPROC_DIR": str(logdir / "metrics"),
    }
    runner = ROOT / "scripts" / "run_scaled.py"
    with serve_command(
        lambda port: [sys.executable, str(runner)], env, "run-scaled", logdir, settle=5.0
    ) as proc:
        yield proc


def role(pid: int) -> str:
    line = cmdline(pid)
    if "run_feed" in line:
        return "feed"
    if "celery" in line:
        return "celery"
    if "uvicorn" in line or "multiprocessing" in line:
        return "web"
    return "supervisor"


def run_row(env, token, workers, clients, seconds, client_procs, redis, logdir) -> dict:
    before = loadavg()
    with scaled_live(env, workers, logdir) as scaled:
        watched = [("redis", redis.pid, False)]
        for pid in tree_pids(scaled.pid):
            watched.append((f"{role(pid)} {pid}", pid, False))
        result = ws_clients(
            scaled.port, token, clients, seconds, processes=client_procs, cpu_of=watched
        )
    result["load"] = f"{before} -> {loadavg()}"
    result.update(workers=workers, clients=clients, client_procs=client_procs)
    groups: dict[str, float] = {}
    for label, used in result["cpu"].items():
        groups[label.split()[0]] = groups.get(label.split()[0], 0.0) + used
    result["cpu_groups"] = groups
    print(
        f"{workers} workers, {clients} clients: {result['per_second']:,.0f} msg/s, "
        f"p50 {result['p50'] or 0:.0f} ms, p99 {result['p99'] or 0:.0f} ms, "
        f"{result['connected']} connected; cpu "
        + ", ".join(f"{k} {v:.1f}s" for k, v in result["cpu"].items() if v >= 0.05)
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
        env = base_env(DATABASE_URL=db_url, REDIS_URL=redis.url)
        for count in counts:
            rows.append(
                run_row(env, token, args.workers, count, seconds, args.client_procs, redis, logdir)
            )

    print(
        f"\nmake run-scaled: {args.workers} uvicorn web workers, two feeds (one leads), Celery "
        f"worker and beat, Redis pub/sub layer (private redis-server), simulated provider at "
        f"10 ticks/s per ticker over 10 "
        f"tickers, {seconds:g} s measured per row, clients in {args.client_procs} separate "
        f"processes; {os.cpu_count()} cores shared with the clients and other work.\n"
    )
    print(
        "| clients | offered msg/s | delivered msg/s | p50 ms | p99 ms | max ms | connected "
        "| CPU s per s: web (per process) / feeds / redis / clients / celery+honcho "
        "| load before -> after |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        groups, w = r["cpu_groups"], r["window"]
        web = " + ".join(
            f"{v / w:.2f}" for k, v in r["cpu"].items() if k.startswith("web") and v / w >= 0.05
        )
        print(
            f"| {r['clients']:,} | {r['clients'] * 10:,} | {r['per_second']:,.0f} | "
            f"{ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} | {r['connected']:,} | "
            f"{groups.get('web', 0) / w:.2f} ({web}) / {groups.get('feed', 0) / w:.2f} / "
            f"{groups.get('redis', 0) / w:.2f} / {groups.get('client', 0) / w:.2f} / "
            f"{groups.get('celery', 0) / w + groups.get('supervisor', 0) / w:.2f} | {r['load']} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
