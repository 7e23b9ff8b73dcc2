"""Which server to run TradePulse under: daphne, uvicorn, gunicorn with uvicorn workers and
granian, on the same machine in the same run, one process each, serving
``config.asgi:application`` on PostgreSQL.

- Single POST/s: wrk posts one trade per request (JSON, ``Authorization: Token``), 16
  connections.
- Filtered list: wrk GETs ``/api/trades/?ticker=...&start_date=...&end_date=...&cursor=...``
  (100 pages at random depths of random tickers) over a 1M-row table, 16 connections: req/s,
  p50, p99.
- WebSocket fan-out: 1,000 clients (bench/live.py's client, in a separate process), the feed
  inside the server on a synthetic provider at 10 ticks/s per ticker (bench/live_apps.py):
  delivered messages/s, latency from the tick's timestamp, and messages per server CPU-second
  (``/proc`` times of the server's process tree over the measured window).

The servers run one after the other, in a different order each round, with the load average
recorded before and after each. wrk and the WebSocket clients are separate processes.

    .venv/bin/python bench/servers.py            # 1M rows, 2 rounds, 10 s per wrk run
    .venv/bin/python bench/servers.py --quick    # 50k rows, 1 round, 3 s, 200 sockets

Needs wrk and PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres;
a scratch database ``bench_servers_<pid>`` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    base_env,
    fmt_wrk,
    get_script,
    list_paths,
    loadavg,
    post_script,
    prepare_ledger,
    scratch_database,
    serve,
    setup_django,
    stop_cleanly_on_signals,
    wrk,
    ws_clients,
)

SERVERS = ["daphne", "uvicorn", "gunicorn-uvicorn", "granian"]
LABELS = {
    "daphne": "daphne 4.2.3",
    "uvicorn": "uvicorn 0.55.0 (uvloop, httptools, websockets)",
    "gunicorn-uvicorn": "gunicorn 27.0.1 + uvicorn-worker 0.4.0, 1 worker",
    "granian": "granian 2.8.9 (asgi, uvloop)",
}


def http_round(kind: str, env: dict, token: str, paths: list[str], seconds: float, logdir):
    row = {"load_before": loadavg()}
    with serve(kind, "config.asgi:application", env, logdir=logdir) as server:
        # Warm-up: imports, pool connections, first-request costs.
        wrk(server.port, post_script(token), 2)
        wrk(server.port, get_script(token, paths), 2)
        row["post"] = wrk(server.port, post_script(token), seconds, cpu_pid=server.pid)
        row["list"] = wrk(server.port, get_script(token, paths), seconds, cpu_pid=server.pid)
    row["load_after"] = loadavg()
    print(f"{kind}: POST {fmt_wrk(row['post'])}; list {fmt_wrk(row['list'])}", file=sys.stderr)
    return row


def ws_round(kind: str, env: dict, token: str, clients: int, seconds: float, logdir):
    row = {"load_before": loadavg()}
    ws_env = {**env, "BENCH_RATE": "10", "FEED_IN_PROCESS": "1"}
    with serve(kind, "bench.live_apps:tradepulse_application", ws_env, logdir=logdir) as server:
        result = ws_clients(server.port, token, clients, seconds, cpu_of=[server.pid])
    result["server_cpu"] = result["cpu"][server.pid]
    result["per_cpu_second"] = (
        result["messages"] / result["server_cpu"] if result["server_cpu"] else 0.0
    )
    row["ws"] = result
    row["load_after"] = loadavg()
    print(
        f"{kind}: WS {result['per_second']:,.0f} msg/s, p50 {result['p50'] or 0:.0f} ms, "
        f"p99 {result['p99'] or 0:.0f} ms, {result['per_cpu_second']:,.0f} msg per CPU-s, "
        f"{result['connected']} connected",
        file=sys.stderr,
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rows", type=int, help="trades in the table (default 1,000,000)")
    parser.add_argument("--rounds", type=int, help="HTTP rounds per server (default 2)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--clients", type=int, help="WebSocket clients (default 1,000)")
    parser.add_argument("--servers", help="comma-separated subset of " + ",".join(SERVERS))
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    stop_cleanly_on_signals()
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 2)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    clients = args.clients or (200 if args.quick else 1000)
    ws_seconds = 4.0 if args.quick else 6.0
    servers = args.servers.split(",") if args.servers else SERVERS
    logdir = Path(tempfile.mkdtemp(prefix="bench-servers-"))

    results: dict = {kind: {"http": [], "ws": []} for kind in servers}
    overall = {"load_start": loadavg()}
    with scratch_database("bench_servers") as db_url:
        setup_django(db_url)
        data = prepare_ledger(rows)
        ours, _ = list_paths(data["user_id"], rows, 100)
        env = base_env(DATABASE_URL=db_url)
        for r in range(rounds):
            order = servers[r % len(servers) :] + servers[: r % len(servers)]
            if r % 2:
                order.reverse()
            for kind in order:
                results[kind]["http"].append(
                    http_round(kind, env, data["token"], ours, seconds, logdir)
                )
        for r in range(1 if args.quick else 2):
            order = list(reversed(servers)) if r % 2 else servers
            for kind in order:
                results[kind]["ws"].append(
                    ws_round(kind, env, data["token"], clients, ws_seconds, logdir)
                )
    overall["load_end"] = loadavg()

    print(
        f"\nTradePulse (config.asgi:application) on PostgreSQL, {rows:,} trades, one server "
        f"process each, {os.cpu_count()} cores; wrk 16 connections, {seconds:g} s per run, "
        f"{rounds} round(s); {clients:,} WebSocket clients, 10 ticks/s per ticker. "
        f"Load average {overall['load_start']} at the start, {overall['load_end']} at the end.\n"
    )
    print(
        "| server | POST/s | POST p99 ms | POST CPU ms/req | list req/s | list p50 / p99 ms "
        "| list CPU ms/req | WS msg/s delivered | WS p50 / p99 ms | WS msg per server CPU-s "
        "| load before -> after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind in servers:
        http, ws = results[kind]["http"], results[kind]["ws"]
        post = statistics.median(h["post"]["rps"] for h in http)
        post_p99 = statistics.median(h["post"]["p99"] for h in http)
        lst = statistics.median(h["list"]["rps"] for h in http)
        p50 = statistics.median(h["list"]["p50"] for h in http)
        p99 = statistics.median(h["list"]["p99"] for h in http)
        post_cpu = statistics.median(h["post"]["cpu_ms_per_request"] or 0 for h in http)
        list_cpu = statistics.median(h["list"]["cpu_ms_per_request"] or 0 for h in http)
        wsr = statistics.median(w["ws"]["per_second"] for w in ws)
        wp50 = statistics.median(w["ws"]["p50"] or 0 for w in ws)
        wp99 = statistics.median(w["ws"]["p99"] or 0 for w in ws)
        wcpu = statistics.median(w["ws"]["per_cpu_second"] for w in ws)
        loads = "; ".join(f"{h['load_before']} -> {h['load_after']}" for h in http + ws)
        errors = sum(h["post"]["errors"] + h["list"]["errors"] for h in http)
        note = f" ({errors} errors)" if errors else ""
        print(
            f"| {LABELS[kind]}{note} | {post:,.0f} | {post_p99:.1f} | {post_cpu:.1f} | {lst:,.0f} | "
            f"{p50:.1f} / {p99:.1f} | {list_cpu:.1f} | {wsr:,.0f} | {wp50:.0f} / {wp99:.0f} | {wcpu:,.0f} "
            f"| {loads} |"
        )
    print("\n(medians over the rounds; each round's figures are in --json)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
