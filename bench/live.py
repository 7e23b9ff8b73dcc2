"""Live fan-out benchmark: tick-to-client latency and delivered messages/s at 1,000 sockets.

One daphne process serves 1,000 WebSocket clients (100 per ticker, 10 tickers) with the
in-memory channel layer and the feed inside the process, fed by a synthetic provider
(``bench/live_apps.py``: every ticker ticks at a fixed rate, phases spread over the period).
The clients run in a separate process (the ``websockets`` library), authenticate with a
token in their first message, and measure, for every tick message, the time from the tick's
event timestamp (stamped by the provider when it made the price) to its arrival. The same
run serves the peer (``bench/live_peer.py``: one group_send per tick, no coalescing, channels'
default consumer) on the same machine, provider and clients. Rows: 10 ticks/s per ticker
(each tick can be delivered, 10,000 messages/s offered) and 100 ticks/s per ticker (a
ten-fold burst: TradePulse coalesces to 10 per ticker per second, the peer forwards all).

    .venv/bin/python bench/live.py            # 1,000 clients, 6 s per row, 4 rows (< 2 min)
    .venv/bin/python bench/live.py --quick    # 200 clients, 4 s per row

Loopback only; a fresh SQLite database in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM", "V", "KO"]
TICK_PREFIXES = ('{"type":"tick"', '{"type": "tick"')
VARIANTS = [
    ("TradePulse (hub, coalescing 100 ms)", "bench.live_apps:tradepulse_application"),
    ("peer: group_send per tick", "bench.live_apps:peer_application"),
]


# -- the client process ------------------------------------------------------------------


async def run_clients(base: str, token: str, count: int, duration: float) -> dict:
    from websockets.asyncio.client import connect

    origin = base.replace("ws://", "http://")
    latencies: list[float] = []
    state = {"measuring": False, "received": 0, "connected": 0, "failed": 0, "closed": 0}
    handshakes = asyncio.Semaphore(50)

    def on_tick(raw: str) -> None:
        if not state["measuring"]:
            return
        arrived = time.time()
        # Cheap parsing keeps the client process from becoming the bottleneck: the tick
        # type and its timestamp are found by position, not json.loads.
        if not raw.startswith(TICK_PREFIXES):
            return
        state["received"] += 1
        start = raw.find('"timestamp":') + 12
        start = raw.find('"', start) + 1
        sent = datetime.fromisoformat(raw[start : raw.find('"', start)]).timestamp()
        latencies.append(arrived - sent)

    async def one_lean(index: int) -> None:
        from bench.wsclient import connect as lean_connect

        ticker = TICKERS[index % len(TICKERS)]
        host, _, port = base.removeprefix("ws://").partition(":")
        try:
            async with handshakes:
                ws = await lean_connect(
                    host, int(port), f"/ws/stocks/{ticker}/", origin, on_tick, timeout=30
                )
                ws.send_text(json.dumps({"type": "auth", "token": token}))
        except Exception:
            state["failed"] += 1
            return
        state["connected"] += 1
        try:
            await ws.closed
            state["closed"] += 1
        finally:
            ws.close()

    async def one(index: int) -> None:
        ticker = TICKERS[index % len(TICKERS)]
        try:
            async with handshakes:
                ws = await connect(
                    f"{base}/ws/stocks/{ticker}/",
                    origin=origin,
                    open_timeout=30,
                    ping_interval=None,
                    max_queue=None,
                    compression=None,
                )
                await ws.send(json.dumps({"type": "auth", "token": token}))
        except Exception:
            state["failed"] += 1
            return
        state["connected"] += 1
        try:
            async for raw in ws:
                on_tick(raw)
        except Exception:
            state["closed"] += 1

    # BENCH_WS_CLIENT=websockets uses the websockets library's client instead of the lean one
    # (bench/wsclient.py), which costs the client process less CPU per message.
    client = one if os.environ.get("BENCH_WS_CLIENT") == "websockets" else one_lean
    tasks = [asyncio.create_task(client(i)) for i in range(count)]
    deadline = time.monotonic() + float(os.environ.get("BENCH_CONNECT_SECONDS", "20"))
    while state["connected"] + state["failed"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    # Warm-up: snapshots sent, feed subscribed, and what queued while thousands of handshakes
    # were being served has drained, so the window measures the steady state.
    await asyncio.sleep(float(os.environ.get("BENCH_WARMUP_SECONDS", "2")))
    # The sockets' objects live until the end: keep the collector from rescanning them, so
    # the instrument's own pauses stay out of the figures.
    gc.collect()
    gc.freeze()
    # Markers on stdout let a driver sample the server's CPU time over the same window.
    print("measuring", flush=True)
    state["measuring"] = True
    started = time.monotonic()
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = time.monotonic() - started
    print("measured", flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    if os.environ.get("BENCH_LATENCY_FILE"):  # for a driver merging several client processes
        Path(os.environ["BENCH_LATENCY_FILE"]).write_text(json.dumps(latencies))

    def pct(q: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None

    return {
        "connected": state["connected"],
        "failed": state["failed"],
        "closed": state["closed"],
        "messages": state["received"],
        "per_second": state["received"] / elapsed,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": latencies[-1] if latencies else None,
        "mean": statistics.fmean(latencies) if latencies else None,
    }


# -- the driver --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(tmp: Path) -> tuple[dict, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DB_NAME", "REDIS_URL", "PYTHONPYCACHEPREFIX"}
    }
    env.update(SQLITE_PATH=str(tmp / "bench.sqlite3"), LOG_LEVEL="WARNING", DJANGO_DEBUG="false")
    # Every client is the one bench user: lift the per-user socket cap.
    env.update(LIVE_WS_MAX_PER_USER="100000")
    env.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    out = subprocess.run(
        [
            python,
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "from api.tokens import token_issue; "
            "u = get_user_model().objects.create_user('bench', password='bench-pass-123'); "
            "print(token_issue(user=u)[1])",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, out.stdout.strip().splitlines()[-1]


def run_row(env: dict, token: str, app: str, rate: float, clients: int, duration: float) -> dict:
    port = free_port()
    server_env = {
        **env,
        "BENCH_RATE": str(rate),
        # DEBUG off requires secure cookies and redirects; the bench speaks plain loopback HTTP.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    daphne = str(Path(sys.executable).parent / "daphne")
    server = subprocess.Popen(
        [daphne, "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"daphne ({app}) did not start") from None
                time.sleep(0.2)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                f"ws://127.0.0.1:{port}",
                token,
                str(clients),
                str(duration),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=240,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 clients, 4 s per row")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--rates", help="provider ticks/s per ticker, comma-separated (10,100)")
    parser.add_argument("--client", nargs=4, metavar=("URL", "TOKEN", "N", "SECONDS"))
    args = parser.parse_args()
    if args.client:
        url, token, count, duration = args.client
        import uvloop  # the load client's own event loop costs it less CPU per message

        result = uvloop.run(run_clients(url, token, int(count), float(duration)))
        print(json.dumps(result))
        return

    clients = args.clients or (200 if args.quick else 1000)
    duration = args.duration or (4.0 if args.quick else 6.0)
    rates = [10.0] if args.quick else [10.0, 100.0]
    if args.rates:
        rates = [float(r) for r in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="tradepulse-bench-live-"))
    try:
        env, token = prepare(tmp)
        rows = []
        for rate in rates:
            for name, app in VARIANTS:
                result = run_row(env, token, app, rate, clients, duration)
                offered = clients * rate
                rows.append((name, rate, offered, result))
                print(
                    f"{name}: {rate:g} ticks/s/ticker -> {result['per_second']:,.0f} msg/s, "
                    f"p50 {ms(result['p50'])} ms, p99 {ms(result['p99'])} ms",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\n{clients:,} WebSocket clients over {len(TICKERS)} tickers, one daphne process, "
        f"in-memory layer, {duration:g} s per row\n"
    )
    print(
        "| server | provider ticks/s per ticker | ticks offered to clients/s | delivered msg/s "
        "| p50 ms | p99 ms | max ms | clients connected |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rate, offered, r in rows:
        print(
            f"| {name} | {rate:g} | {offered:,.0f} | {r['per_second']:,.0f} | {ms(r['p50'])} "
            f"| {ms(r['p99'])} | {ms(r['max'])} | {r['connected']:,} |"
        )


if __name__ == "__main__":
    main()
