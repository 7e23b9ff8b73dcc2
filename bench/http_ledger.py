"""The ledger over real HTTP: TradePulse's served processes beside the plain-DRF peer.

(The code of ``bench/http.py``, which runs it.)

Ours: ``config.asgi:application`` under ``make run``'s server command (uvicorn, one process,
the Makefile's flags) and under ``make run-scaled`` (``scripts/run_scaled.py``: supervisord runs the
``Procfile``'s WEB_CONCURRENCY=2 web workers, two feeds, a Celery worker and beat) with the
Redis channel layer and cache on a private redis-server. The peer: ``bench/ledger_peer.py`` (a ``ModelViewSet``,
django-filter, page-number pagination, DRF's stock token authentication and throttles) served
by gunicorn with the same number of sync worker processes and the same environment. Both on
the same PostgreSQL table, load from separate processes:

- single POST/s: wrk, one trade per request, 16 connections;
- filtered list: wrk, 100 pages at random depths (ticker + date range; ours by cursor, the
  peer by page number, the same rows), 16 connections: req/s, p50, p99;
- bulk: one client posting 10,000 trades per request to ``/api/trades/bulk/``; the peer
  500 per request to its list route (``many=True``, saved item by item): trades/s.

Ours and the peer are interleaved run by run; the load average is recorded around each run.

    .venv/bin/python bench/http.py                            # 1M rows, both modes
    .venv/bin/python bench/http.py --rows 1000000,10000000    # then the list again at 10M
    .venv/bin/python bench/http.py --quick                    # 50k rows, 3 s runs

Needs wrk, redis-server and PostgreSQL (BENCH_POSTGRES_URL; a scratch database
``bench_http_<pid>`` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    ROOT,
    TICKERS,
    base_env,
    fmt_wrk,
    get_script,
    list_paths,
    loadavg,
    make_run_command,
    post_script,
    prepare_ledger,
    private_redis,
    scratch_database,
    serve,
    serve_command,
    setup_django,
    stop_cleanly_on_signals,
    wrk,
)

OURS_APP = "config.asgi:application"
PEER_APP = "bench.peer_wsgi:application"


# -- bulk client (a separate process) -------------------------------------------------------


def bulk_client(url: str, token: str, items: int, rounds: int) -> dict:
    body = json.dumps(
        [
            {
                "ticker": TICKERS[i % 10],
                "side": "buy",
                "price": f"{100 + i % 50}.25",
                "quantity": "3",
            }
            for i in range(items)
        ]
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def post() -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
            assert response.status == 201, response.status

    post()  # warm-up
    started = time.perf_counter()
    for _ in range(rounds):
        post()
    elapsed = time.perf_counter() - started
    return {"trades_per_s": items * rounds / elapsed, "seconds": elapsed}


def run_bulk(port: int, path: str, token: str, items: int, rounds: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "http.py"),
            "--bulk-client",
            f"http://127.0.0.1:{port}{path}",
            token,
            str(items),
            str(rounds),
        ],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the served modes -----------------------------------------------------------------------


def one_process(env: dict, logdir: Path, checkout: Path = ROOT):
    """``make run``'s server: one uvicorn process with the Makefile's flags, serving the code
    of ``checkout`` (this one, or another commit's work tree)."""
    return serve_command(
        lambda port: make_run_command(port, checkout), env, "make-run uvicorn", logdir, cwd=checkout
    )


def scaled(env: dict, workers: int, logdir: Path, checkout: Path = ROOT):
    """``make run-scaled``'s processes (scripts/run_scaled.py: migrate, then supervisord runs the
    Procfile: WEB_CONCURRENCY web workers, two feeds, a Celery worker and beat), from
    ``checkout``."""
    env = {
        **env,
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(logdir / "metrics-scaled"),
    }
    runner = checkout / "scripts" / "run_scaled.py"
    return serve_command(
        lambda port: [sys.executable, str(runner)],
        env,
        "run-scaled",
        logdir,
        settle=3.0,
        cwd=checkout,
    )


def measure_mode(
    mode: str, ours, peer, data: dict, paths: dict, seconds: float, rounds: int, first: bool, quick
) -> dict:
    """Interleaved runs of ours and the peer; POST and bulk only at the first table size."""
    token = data["token"]
    out: dict = {"post": {"ours": [], "peer": []}, "list": {"ours": [], "peer": []}}
    servers = {"ours": ours, "peer": peer}
    post_paths = {"ours": "/api/trades/", "peer": "/peer/trades/"}
    for name, server in servers.items():  # warm-up: imports, pools, first-request costs
        wrk(server.port, get_script(token, paths[name]), 2)
        if first:
            wrk(server.port, post_script(token, post_paths[name]), 2)
    for r in range(rounds):
        order = ["ours", "peer"] if r % 2 == 0 else ["peer", "ours"]
        kinds = ["post", "list"] if first else ["list"]
        for kind in kinds:
            for name in order:
                port = servers[name].port
                script = (
                    post_script(token, post_paths[name])
                    if kind == "post"
                    else get_script(token, paths[name])
                )
                before = loadavg()
                result = wrk(port, script, seconds, cpu_pid=servers[name].pid)
                result["load"] = f"{before} -> {loadavg()}"
                out[kind][name].append(result)
                print(f"{mode} {kind} {name}: {fmt_wrk(result)}", file=sys.stderr)
    if first:
        items, rounds_bulk = (2000, 2) if quick else (10_000, 5)
        before = loadavg()
        out["bulk_ours"] = run_bulk(ours.port, "/api/trades/bulk/", token, items, rounds_bulk)
        out["bulk_ours"]["load"] = f"{before} -> {loadavg()}"
        before = loadavg()
        out["bulk_peer"] = run_bulk(peer.port, "/peer/trades/", token, 500, 1 if quick else 4)
        out["bulk_peer"]["load"] = f"{before} -> {loadavg()}"
        print(
            f"{mode} bulk: ours {out['bulk_ours']['trades_per_s']:,.0f}/s, "
            f"peer {out['bulk_peer']['trades_per_s']:,.0f}/s",
            file=sys.stderr,
        )
    return out


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def cpu_row(label: str, what: str, runs: dict) -> str:
    """Server CPU per request: what the figures would be on idle cores, whatever the load."""

    def cpu(name: str) -> float | None:
        values = [r["cpu_ms_per_request"] for r in runs[name] if r.get("cpu_ms_per_request")]
        return statistics.median(values) if values else None

    o, p = cpu("ours"), cpu("peer")
    if o is None or p is None:
        return f"| {label} | server CPU ms per request, {what} | — | — | | |"
    return (
        f"| {label} | server CPU ms per request, {what} | {o:.1f} | {p:.1f} | {p / o:.1f}x less | |"
    )


def report(results: dict, sizes: list[int], seconds: float, workers: int, loads: dict) -> str:
    lines = [
        f"Over HTTP, PostgreSQL 15, {os.cpu_count()} cores shared with PostgreSQL and the load "
        f"processes; wrk 16 connections, {seconds:g} s per run (medians of the runs). Load "
        f"average {loads['start']} at the start, {loads['end']} at the end.",
        "",
        "| Mode | Measure | TradePulse | Plain DRF peer (gunicorn sync) | Ratio | Target |",
        "|---|---|---:|---:|---:|---|",
    ]
    first = sizes[0]
    for mode in results:
        label = {
            "one": "make run (uvicorn, 1 process; peer: 1 worker)",
            "scaled": f"make run-scaled ({workers} web workers; peer: {workers} workers)",
        }[mode]
        r0 = results[mode][first]
        po, pp = med(r0["post"]["ours"], "rps"), med(r0["post"]["peer"], "rps")
        lines.append(
            f"| {label} | single POST/s, 16 connections | {po:,.0f} | {pp:,.0f} | "
            f"{po / pp:.2f}x | >= 2x: {'met' if po >= 2 * pp else 'missed'} |"
        )
        lines.append(cpu_row(label, "single POST", r0["post"]))
        for size in sizes:
            rs = results[mode][size]
            lo, lp = med(rs["list"]["ours"], "rps"), med(rs["list"]["peer"], "rps")
            o50, o99 = med(rs["list"]["ours"], "p50"), med(rs["list"]["ours"], "p99")
            p50, p99 = med(rs["list"]["peer"], "p50"), med(rs["list"]["peer"], "p99")
            ok = lo >= 20 * lp and o99 < 50
            lines.append(
                f"| {label} | list req/s at {size:,} rows | {lo:,.0f} | {lp:,.0f} | "
                f"{lo / lp:.1f}x | >= 20x and p99 < 50 ms: {'met' if ok else 'missed'} |"
            )
            lines.append(
                f"| {label} | list p50 / p99 ms at {size:,} rows | {o50:.1f} / {o99:.1f} | "
                f"{p50:.1f} / {p99:.1f} | | |"
            )
            lines.append(cpu_row(label, f"list at {size:,} rows", rs["list"]))
        if len(sizes) > 1:
            growth = med(results[mode][sizes[-1]]["list"]["ours"], "p99") / med(
                results[mode][first]["list"]["ours"], "p99"
            )
            lines.append(
                f"| {label} | list p99 {sizes[-1]:,} / {first:,} rows | {growth:.2f}x | | | "
                f"<= 1.5x: {'met' if growth <= 1.5 else 'missed'} |"
            )
        bo, bp = r0["bulk_ours"]["trades_per_s"], r0["bulk_peer"]["trades_per_s"]
        lines.append(
            f"| {label} | bulk trades/s, one client | {bo:,.0f} | {bp:,.0f} | {bo / bp:.1f}x | |"
        )
    lines.append("")
    lines.append("Load average around each run (1/5/15 min, before -> after):")
    lines.append("")
    for mode in results:
        for size in sizes:
            rs = results[mode][size]
            for kind in ("post", "list"):
                for name in ("ours", "peer"):
                    for i, run in enumerate(rs[kind].get(name, [])):
                        lines.append(
                            f"- {mode} {size:,} rows {kind} {name} #{i + 1}: {fmt_wrk(run)}; "
                            f"load {run['load']}"
                        )
            for key in ("bulk_ours", "bulk_peer"):
                if key in rs:
                    lines.append(
                        f"- {mode} {size:,} rows {key}: {rs[key]['trades_per_s']:,.0f}/s; "
                        f"load {rs[key]['load']}"
                    )
    return "\n".join(lines)


def grow(data: dict, total: int) -> None:
    """Append trades until the table holds ``total`` rows, in the same layout as the first fill
    (bench/ledger.py's ``fill``: tickers in turn, 6 in 7 for the bench user, one second apart),
    generated by PostgreSQL itself (INSERT ... SELECT generate_series: no Python per row)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, connections

    from bench.served import TICKERS as tickers

    other = get_user_model().objects.get(username="other")
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM ledger_trade")
        next_id = cursor.fetchone()[0] + 1
    started = time.perf_counter()
    chunk = 1_000_000
    last = next_id + total - data["rows"] - 1
    for first in range(next_id, last + 1, chunk):
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ledger_trade (id, owner_id, ticker, side, price, quantity, timestamp,
                                          source, source_ref, created_at, updated_at)
                SELECT i, CASE WHEN i %% 7 <> 0 THEN %s ELSE %s END,
                       (%s::text[])[i %% 10 + 1],
                       CASE WHEN i %% 3 <> 0 THEN 'buy' ELSE 'sell' END,
                       round((10 + random() * 490)::numeric, 2), 1 + floor(random() * 100),
                       TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 second',
                       'import', '', now(), now()
                FROM generate_series(%s::bigint, %s::bigint) AS i
                """,
                [data["user_id"], other.id, tickers, first, min(first + chunk - 1, last)],
            )
        print(f"  ... {min(first + chunk - 1, last):,} rows", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_trade', 'id'), "
            "(SELECT MAX(id) FROM ledger_trade))"
        )
        cursor.execute("VACUUM (ANALYZE) ledger_trade")
        cursor.execute("CHECKPOINT")
    print(f"grew to {total:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    data["rows"] = total
    connections.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--rows", help="table sizes, comma-separated (default 1000000)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, help="runs of each measure (default 2)")
    parser.add_argument("--modes", default="one,scaled", help="one,scaled")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (default 2)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--bulk-client", nargs=4, metavar=("URL", "TOKEN", "ITEMS", "ROUNDS"))
    args = parser.parse_args()
    stop_cleanly_on_signals()
    if args.bulk_client:
        url, token, items, rounds = args.bulk_client
        print(json.dumps(bulk_client(url, token, int(items), int(rounds))))
        return 0

    sizes = [int(s) for s in args.rows.split(",")] if args.rows else None
    sizes = sizes or ([50_000] if args.quick else [1_000_000])
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 2)
    modes = args.modes.split(",")
    logdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    loads = {"start": loadavg()}
    results: dict = {mode: {} for mode in modes}
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database("bench_http"))
        redis = stack.enter_context(private_redis())
        setup_django(db_url)
        data = prepare_ledger(sizes[0])
        for index, size in enumerate(sizes):
            if size > data["rows"]:
                grow(data, size)
            # The table is in a steady state (vacuumed) before the timed runs.
            ours_paths, peer_paths = list_paths(data["user_id"], size, 100)
            paths = {"ours": ours_paths, "peer": peer_paths}
            for mode in modes:
                if mode == "one":
                    env = base_env(
                        DATABASE_URL=db_url, PROMETHEUS_MULTIPROC_DIR=str(logdir / "metrics")
                    )
                    (logdir / "metrics").mkdir(exist_ok=True)
                    ours_cm = one_process(env, logdir)
                    peer_cm = serve("gunicorn-sync", PEER_APP, env, 1, logdir)
                else:
                    env = base_env(DATABASE_URL=db_url, REDIS_URL=redis.url)
                    ours_cm = scaled(env, args.workers, logdir)
                    peer_cm = serve("gunicorn-sync", PEER_APP, env, args.workers, logdir)
                with ours_cm as ours, peer_cm as peer:
                    results[mode][size] = measure_mode(
                        mode, ours, peer, data, paths, seconds, rounds, index == 0, args.quick
                    )
    loads["end"] = loadavg()
    print()
    print(report(results, sizes, seconds, args.workers, loads))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
