"""Mixed traffic against the scaled mode for 60 s, with faults in the middle.

Starts the scale-out mode as ``make run-scaled`` does (``scripts/run_scaled.py``: migrate, then
honcho runs the ``Procfile``: WEB_CONCURRENCY=2 web workers, two feeds, a Celery worker and
beat) on a scratch PostgreSQL database and a private redis-server, then drives it from a
separate process (httpx + websockets):

- creates: 8 clients POST one trade each time with an ``Idempotency-Key``; after a dropped
  connection, a timeout, a 503 or a 409 they retry the same key with the same body until it is
  acknowledged (each trade carries a unique quantity, so every row can be traced to its key);
- lists: 8 clients GET filtered list pages (ticker + date range) of a 100k-row table;
- 500 WebSocket clients (10 tickers), reconnecting 1 s after a close as the monitor page does.

Faults: at 20 s the private redis-server is killed; at 30 s it is started again on the same
port; at 40 s the active feed (``/readyz``'s ``feed.pid``) is killed with SIGKILL.

Asserts: no 5xx other than 503; every acknowledged trade stored exactly once and no key stored
twice (0 lost, 0 duplicated); every WebSocket client ticking again within 15 s of Redis coming
back and of the feed's death. Reports throughput and p50/p99 per kind.

    .venv/bin/python bench/load.py            # 60 s, 500 sockets
    .venv/bin/python bench/load.py --quick    # 24 s, 100 sockets, faults at 6/11/16 s

Needs redis-server and PostgreSQL (BENCH_POSTGRES_URL; a scratch database
``bench_load_<pid>`` is created and dropped). Exits 1 when an assertion fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served import (  # noqa: E402
    BIN,
    ROOT,
    TICKERS,
    Process,
    base_env,
    free_port,
    loadavg,
    make_token,
    prepare_ledger,
    private_redis,
    scratch_database,
    server_command,
    setup_django,
    stop_cleanly_on_signals,
    wait_http,
)

WS_TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM", "V", "KO"]


# -- the traffic process --------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def traffic(base: str, create_token: str, list_token: str, cfg: dict) -> dict:
    import httpx
    from websockets.asyncio.client import connect

    duration = cfg["duration"]
    stop_at = time.time() + duration
    statuses: dict[str, dict[str, int]] = {"create": {}, "list": {}}
    latency: dict[str, list[float]] = {"create": [], "list": [], "tick": []}
    done_at: dict[str, list[float]] = {"create": [], "list": []}  # when each one completed
    errors: dict[str, int] = {"create": 0, "list": 0}
    acked: list[int] = []  # quantities of acknowledged trades
    abandoned: list[int] = []
    retries = {"count": 0}
    counter = {"next": 0}
    five_xx: list[str] = []

    def count(kind: str, status: int, body: bytes) -> None:
        statuses[kind][str(status)] = statuses[kind].get(str(status), 0) + 1
        if status >= 500 and status != 503 and len(five_xx) < 20:
            five_xx.append(f"{kind} {status}: {body[:200]!r}")

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    timeout = httpx.Timeout(10.0, connect=5.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def creator(index: int) -> None:
            headers = {"Authorization": f"Token {create_token}"}
            while time.time() < stop_at:
                counter["next"] += 1
                quantity = counter["next"]
                key = f"load-{os.getpid()}-{quantity}"
                body = {"ticker": "AAPL", "side": "buy", "price": "10.5", "quantity": quantity}
                started = time.perf_counter()
                # Retry the same key until it is acknowledged, for up to 60 s past the end.
                while True:
                    try:
                        response = await client.post(
                            "/api/trades/", json=body, headers={**headers, "Idempotency-Key": key}
                        )
                    except httpx.HTTPError:
                        errors["create"] += 1
                        response = None
                    if response is not None:
                        count("create", response.status_code, response.content)
                        if response.status_code in (200, 201):
                            acked.append(quantity)
                            latency["create"].append(time.perf_counter() - started)
                            done_at["create"].append(round(time.time(), 2))
                            break
                        if response.status_code not in (409, 503) and response.status_code < 500:
                            abandoned.append(quantity)
                            break
                    if time.time() > stop_at + 60:
                        abandoned.append(quantity)
                        break
                    retries["count"] += 1
                    await asyncio.sleep(0.2 + random.random() * 0.3)

        base_day = datetime(2024, 1, 1, tzinfo=UTC)

        async def lister(index: int) -> None:
            rng = random.Random(index)
            headers = {"Authorization": f"Token {list_token}"}
            while time.time() < stop_at:
                start = base_day + timedelta(seconds=rng.randint(0, cfg["rows"] // 4))
                params = {
                    "ticker": rng.choice(TICKERS).lower(),
                    "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end_date": (base_day + timedelta(seconds=cfg["rows"])).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                }
                started = time.perf_counter()
                try:
                    response = await client.get("/api/trades/", params=params, headers=headers)
                except httpx.HTTPError:
                    errors["list"] += 1
                    await asyncio.sleep(0.2)
                    continue
                count("list", response.status_code, response.content)
                if response.status_code == 200:
                    latency["list"].append(time.perf_counter() - started)
                    done_at["list"].append(round(time.time(), 2))
                else:
                    await asyncio.sleep(0.2)

        sockets: list[dict] = []
        ws_base = base.replace("http://", "ws://")

        async def socket_client(index: int) -> None:
            ticker = WS_TICKERS[index % len(WS_TICKERS)]
            state = {"ticks": [], "stale": [], "connects": 0, "closes": 0}
            sockets.append(state)
            await asyncio.sleep(index * 0.01)  # open gradually
            while time.time() < stop_at:
                try:
                    async with connect(
                        f"{ws_base}/ws/stocks/{ticker}/",
                        origin=base,
                        open_timeout=10,
                        ping_interval=None,
                        max_queue=None,
                    ) as ws:
                        await ws.send(json.dumps({"type": "auth", "token": list_token}))
                        state["connects"] += 1
                        while time.time() < stop_at:
                            try:
                                raw = await asyncio.wait_for(ws.recv(), stop_at - time.time())
                            except TimeoutError:
                                break
                            now = time.time()
                            message = json.loads(raw)
                            kind = message.get("type")
                            if kind == "tick":
                                state["ticks"].append(round(now, 2))
                                stamp = message.get("timestamp")
                                if stamp:
                                    sent = datetime.fromisoformat(stamp).timestamp()
                                    latency["tick"].append(now - sent)
                            elif kind == "status" and message.get("state") == "stale":
                                state["stale"].append(round(now, 2))
                except Exception:
                    pass
                state["closes"] += 1
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(socket_client(i)) for i in range(cfg["sockets"])]
        await asyncio.sleep(min(10.0, cfg["sockets"] * 0.01 + 2))
        print("started", flush=True)
        started_at = time.time()
        stop_at = started_at + duration
        tasks += [asyncio.create_task(creator(i)) for i in range(cfg["creators"])]
        tasks += [asyncio.create_task(lister(i)) for i in range(cfg["listers"])]
        await asyncio.gather(*tasks, return_exceptions=True)
        ended_at = time.time()

    def summary(kind: str) -> dict:
        values = latency[kind]
        return {
            "count": len(values),
            "p50_ms": (pct(values, 0.5) or 0) * 1000,
            "p99_ms": (pct(values, 0.99) or 0) * 1000,
        }

    return {
        "started_at": started_at,
        "stop_at": stop_at,
        "ended_at": ended_at,
        "statuses": statuses,
        "errors": errors,
        "five_xx": five_xx,
        "acked": acked,
        "abandoned": abandoned,
        "retries": retries["count"],
        "latency": {kind: summary(kind) for kind in latency},
        "done_at": done_at,
        "sockets": sockets,
    }


# -- the driver -----------------------------------------------------------------------------


class RestartableRedis:
    """The private redis-server: killed and started again on the same port."""

    def __init__(self, base):
        self.base = base
        self.proc = base
        self.url = base.url

    def kill(self) -> None:
        self.proc.signal(signal.SIGKILL)
        self.proc.proc.wait(5)

    def start(self) -> None:
        self.proc = Process(self.base.cmd, dict(os.environ), "redis-server (again)")
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not self.base:
            self.proc.stop()


def readyz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


@contextmanager
def scaled_mode(env: dict, logdir: Path):
    """``make run-scaled``'s processes; without scripts/run_scaled.py, the web workers and
    one feed started directly (no standby: the feed-failover fault is then skipped)."""
    port = free_port()
    env = {
        **env,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(logdir / "metrics"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    procs = []
    runner = ROOT / "scripts" / "run_scaled.py"
    if runner.exists():
        procs.append(
            Process([str(BIN / "python"), str(runner)], env, "run-scaled", logdir / "scaled.log")
        )
    else:
        procs.append(
            Process(
                server_command("uvicorn", "config.asgi:application", port, 2),
                env,
                "web",
                logdir / "web.log",
            )
        )
        procs.append(
            Process(
                [str(BIN / "python"), "manage.py", "run_feed"], env, "feed", logdir / "feed.log"
            )
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", procs[0], timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = readyz(port)
            if ready is None or ready.get("status") == "ok":
                break
            time.sleep(0.5)
        yield port, procs, runner.exists()
    finally:
        for proc in procs:
            took = proc.stop(15)
            print(f"{proc.name} stopped in {took:.1f}s", file=sys.stderr)


def analyse(result: dict, faults: dict, stored: dict[int, int], cfg: dict) -> tuple[list, list]:
    """Returns (report lines, failed assertions)."""
    lines, failed = [], []
    elapsed = result["stop_at"] - result["started_at"]
    for kind in ("create", "list"):
        st = result["statuses"][kind]
        bad = {s: n for s, n in st.items() if int(s) >= 500 and s != "503"}
        if bad:
            failed.append(f"{kind}: 5xx other than 503: {bad} {result['five_xx'][:3]}")
    acked = result["acked"]
    lost = [q for q in acked if stored.get(q, 0) == 0]
    duplicated = [q for q, n in stored.items() if n > 1]
    unknown = [q for q in stored if q not in set(acked) and q not in set(result["abandoned"])]
    if lost:
        failed.append(f"{len(lost)} acknowledged trades lost (quantities {lost[:10]})")
    if duplicated:
        failed.append(f"{len(duplicated)} trades stored more than once ({duplicated[:10]})")
    if unknown:
        failed.append(f"{len(unknown)} stored trades no request made ({unknown[:10]})")
    # Every socket (a client, across its reconnections) ticks again within 15 s of each
    # recovery: its first tick after the recovery comes within 15 s, and it is still ticking
    # at that point (a tick in the 3 s before T + 15 s, or before the next fault, whichever
    # comes first), so that ticks already on their way when a fault struck do not count.
    recoveries = sorted(faults.get("recoveries", {}).items(), key=lambda item: item[1])
    ends = [at for _, at in recoveries[1:]] + [result["stop_at"]]
    for (label, at), next_fault in zip(recoveries, ends, strict=True):
        check_until = min(at + cfg["recover_within"], next_fault)
        late = []
        waits = []
        for index, sock in enumerate(result["sockets"]):
            after = [t for t in sock["ticks"] if t >= at]
            if after:
                waits.append(after[0] - at)
            ticking = any(check_until - 3 <= t <= check_until for t in sock["ticks"])
            if not after or after[0] - at > cfg["recover_within"] or not ticking:
                late.append(index)
        lines.append(
            f"- after {label}: sockets ticking again {len(result['sockets']) - len(late)}/"
            f"{len(result['sockets'])} (first tick after it: p50 {pct(waits, 0.5) or 0:.1f} s, "
            f"max {max(waits, default=0):.1f} s; still ticking {check_until - at:.0f} s later)"
        )
        if late:
            failed.append(
                f"after {label}: {len(late)} of {len(result['sockets'])} sockets not ticking "
                f"again within {cfg['recover_within']:g} s"
            )
    # The service is still serving when the run ends.
    for kind in ("create", "list"):
        tail = [
            t for t in result["done_at"][kind] if result["stop_at"] - 10 <= t <= result["stop_at"]
        ]
        if not tail:
            failed.append(f"{kind}: nothing completed in the last 10 s of the run")
    stale = sum(1 for s in result["sockets"] if s["stale"])
    lines.append(f"- sockets told `stale` at least once: {stale}/{len(result['sockets'])}")
    closes = sum(s["closes"] for s in result["sockets"])
    lines.append(
        f"- WebSocket reconnections: {closes} (connects {sum(s['connects'] for s in result['sockets'])})"
    )
    lat = result["latency"]
    table = [
        "| kind | completed | per second | p50 ms | p99 ms | statuses | transport errors |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for kind in ("create", "list"):
        table.append(
            f"| {kind} | {lat[kind]['count']:,} | {lat[kind]['count'] / elapsed:,.1f} | "
            f"{lat[kind]['p50_ms']:.0f} | {lat[kind]['p99_ms']:.0f} | "
            f"{json.dumps(result['statuses'][kind], sort_keys=True)} | {result['errors'][kind]} |"
        )
    table.append(
        f"| tick (WebSocket) | {lat['tick']['count']:,} | {lat['tick']['count'] / elapsed:,.1f} "
        f"| {lat['tick']['p50_ms']:.0f} | {lat['tick']['p99_ms']:.0f} | | |"
    )
    lines = [
        *table,
        "",
        f"- creates acknowledged {len(acked):,}, stored {sum(stored.values()):,}, lost "
        f"{len(lost)}, duplicated {len(duplicated)}, abandoned {len(result['abandoned'])} "
        f"(retries {result['retries']:,})",
        *lines,
    ]
    return lines, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 s, 100 sockets")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--sockets", type=int)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--client", nargs=4, metavar=("URL", "CREATE_TOKEN", "LIST_TOKEN", "CFG"))
    args = parser.parse_args()
    stop_cleanly_on_signals()
    if args.client:
        url, create_token, list_token, cfg = args.client
        result = asyncio.run(traffic(url, create_token, list_token, json.loads(cfg)))
        print(json.dumps(result))
        return 0

    duration = args.duration or (24.0 if args.quick else 60.0)
    cfg = {
        "duration": duration,
        "sockets": args.sockets or (100 if args.quick else 500),
        "creators": 8,
        "listers": 8,
        "rows": 20_000 if args.quick else 100_000,
        "recover_within": 15.0,
    }
    # Fault times as fractions of the run: Redis away 1/3 -> 1/2, feed killed at 2/3.
    redis_down, redis_up, feed_kill = duration / 3, duration / 2, duration * 2 / 3
    logdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    load_before = loadavg()
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database("bench_load"))
        redis = RestartableRedis(stack.enter_context(private_redis()))
        stack.callback(redis.stop)
        setup_django(db_url)
        data = prepare_ledger(cfg["rows"])
        from django.contrib.auth import get_user_model
        from django.db import connections

        creator_user = get_user_model().objects.create_user("load")
        create_token = make_token(creator_user)
        connections.close_all()
        env = base_env(
            DATABASE_URL=db_url,
            REDIS_URL=redis.url,
            MARKET_DATA_PROVIDER="simulated",
            MARKET_SIM_RATE="2",
            LOG_LEVEL="WARNING",
        )
        port, procs, scaled = stack.enter_context(scaled_mode(env, logdir))
        traffic_proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--client",
                f"http://127.0.0.1:{port}",
                create_token,
                data["token"],
                json.dumps(cfg),
            ],
            cwd=ROOT,
            env=base_env(),
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        stack.callback(lambda: traffic_proc.poll() is None and traffic_proc.kill())
        line = traffic_proc.stdout.readline().strip()
        if line != "started":
            raise RuntimeError(f"traffic client did not start: {line!r}")
        t0 = time.time()
        faults: dict = {"recoveries": {}, "events": []}

        def at(offset: float) -> None:
            delay = t0 + offset - time.time()
            if delay > 0:
                time.sleep(delay)

        at(redis_down)
        redis.kill()
        faults["events"].append((round(time.time() - t0, 1), "redis-server killed"))
        at(redis_up)
        redis.start()
        faults["events"].append((round(time.time() - t0, 1), "redis-server started again"))
        faults["recoveries"]["Redis back"] = time.time()
        at(feed_kill)
        ready = readyz(port) or {}
        feed = (ready.get("checks") or {}).get("feed") or {}
        if scaled and feed.get("pid"):
            os.kill(int(feed["pid"]), signal.SIGKILL)
            faults["events"].append(
                (round(time.time() - t0, 1), f"active feed (pid {feed['pid']}) killed")
            )
            faults["recoveries"]["feed killed"] = time.time()
        else:
            faults["events"].append(
                (round(time.time() - t0, 1), f"feed not killed: no active feed in /readyz {ready}")
            )
        out, _ = traffic_proc.communicate(timeout=duration + 200)
        result = json.loads(out.strip().splitlines()[-1])
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT quantity::bigint, count(*) FROM ledger_trade WHERE owner_id = %s "
                "GROUP BY 1",
                [creator_user.id],
            )
            stored = {int(q): n for q, n in cursor.fetchall()}
        connections.close_all()
    load_after = loadavg()
    lines, failed = analyse(result, faults, stored, cfg)
    print(
        f"\nScaled mode ({'make run-scaled' if scaled else 'web workers + one feed, no standby'}"
        f"), {duration:g} s of mixed traffic: {cfg['creators']} creators (Idempotency-Key, "
        f"retried), {cfg['listers']} listers, {cfg['sockets']} WebSocket clients. Load average "
        f"{load_before} before, {load_after} after.\n"
    )
    print("Faults: " + "; ".join(f"{t} s {what}" for t, what in faults["events"]) + "\n")
    print("\n".join(lines))
    print()
    if failed:
        print("FAILED:\n" + "\n".join(f"- {f}" for f in failed))
    else:
        print(
            "All assertions held: no 5xx but 503, 0 lost, 0 duplicated, every socket ticking again."
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"result": result, "faults": faults, "failed": failed}, default=str)
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
