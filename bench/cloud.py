"""Trade export benchmark on PostgreSQL: `export_day` beside an ORM loop and a bare COPY.

One UTC day of N trades (default 1,000,000) is loaded into a scratch database; each variant
then exports that day in its own subprocess, so its peak memory (VmHWM, ru_maxrss) is its own:

- ``orm loop``: the usual first version: ``Trade.objects...iterator()`` over model objects,
  ``csv.writer`` to a temporary file;
- ``bare COPY``: ``COPY (SELECT * FROM ledger_trade WHERE <day>) TO STDOUT`` into a file, no
  formatting, no join, no ordering: the floor for getting the rows out of PostgreSQL;
- ``export_day -> folder`` / ``export_day -> S3 (multipart)``: TradePulse's export (COPY with
  the formatting in the SELECT) to the file backend and to moto's S3 server on 127.0.0.1;
- ``export_day (ORM path) -> folder``: the exporter's path for databases without COPY.

    .venv/bin/python bench/cloud.py                 # 1,000,000 trades
    .venv/bin/python bench/cloud.py --rows 50000    # a quick run

Uses BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop
a scratch database ``tradepulse_bench_cloud``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ledger import drop_database, scratch_database  # noqa: E402

DAY = date(2025, 1, 20)
DB_NAME = "tradepulse_bench_cloud"
TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "BRK.B", "JPM", "V"]
BUCKET = "tradepulse-bench"
VARIANTS = {
    "idle": "Django loaded, nothing exported",
    "orm-loop": "ORM loop + csv.writer -> temp file",
    "bare-copy": "bare COPY (SELECT *) -> file",
    "export-file": "export_day -> folder (COPY)",
    "export-s3": "export_day -> S3 multipart (COPY)",
    "export-orm": "export_day -> folder (ORM path)",
}


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def fill(count: int) -> None:
    """COPY ``count`` trades of DAY, spread over the day, by two users."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from ledger.services import COPY_COLUMNS

    User = get_user_model()
    owners = [User.objects.create_user("alice").id, User.objects.create_user("bob").id]
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    step = 86_400_000_000 // count
    rng = random.Random(1)
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        # Every column but the id, which the table draws itself.
        with cursor.copy(f"COPY ledger_trade ({', '.join(COPY_COLUMNS[1:])}) FROM STDIN") as copy:
            for i in range(count):
                copy.write_row(
                    (
                        owners[i % 7 == 0],
                        TICKERS[i % len(TICKERS)],
                        "buy" if i % 3 else "sell",
                        f"{rng.uniform(10, 500):.2f}",
                        rng.choice(("1", "5", "10", "2.5", "0.015", "100")),
                        start + timedelta(microseconds=i * step + rng.randint(0, step - 1)),
                        "import",
                        "",
                        now,
                        now,
                    )
                )
        cursor.execute("ANALYZE ledger_trade")


# --- Variants (run in a subprocess each) ----------------------------------------------------
def run_orm_loop(target: str) -> tuple[int, int]:
    import csv

    from ledger.models import Trade

    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    queryset = (
        Trade.objects.filter(timestamp__gte=start, timestamp__lt=start + timedelta(days=1))
        .select_related("owner")
        .order_by("timestamp", "id")
    )
    rows = 0
    with tempfile.NamedTemporaryFile("w", newline="", dir=target, delete=False) as handle:
        writer = csv.writer(handle)
        writer.writerow(["trade_id", "user", "ticker", "side", "price", "quantity", "timestamp"])
        for trade in queryset.iterator(chunk_size=2000):
            writer.writerow(
                [
                    trade.id,
                    trade.owner.username,
                    trade.ticker,
                    trade.side,
                    trade.price,
                    trade.quantity,
                    trade.timestamp.isoformat(),
                ]
            )
            rows += 1
    return rows, os.path.getsize(handle.name)


def run_bare_copy(target: str) -> tuple[int, int]:
    from django.db import connection

    start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    rows = size = 0
    with (
        tempfile.NamedTemporaryFile("wb", dir=target, delete=False) as handle,
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY (SELECT * FROM ledger_trade WHERE timestamp >= %s AND timestamp < %s) "
            "TO STDOUT WITH (FORMAT csv)",
            (start, start + timedelta(days=1)),
        ) as copy,
    ):
        for block in copy:
            handle.write(block)
            rows += 1
            size += len(block)
    return rows, size


def run_export(target: str, method: str) -> tuple[int, int]:
    from cloud.destinations import FileDestination, destination_from_url
    from cloud.services import export_day

    if target.startswith("s3://"):
        destination = destination_from_url(target, multipart_threshold=8 << 20, part_size=8 << 20)
    else:
        destination = FileDestination(target)
    result = export_day(DAY, destination, method=method)
    return result.rows, result.bytes


def worker(variant: str, target: str, db_url: str) -> None:
    setup_django(db_url)
    started = time.perf_counter()
    if variant == "idle":
        rows, size = 0, 0
    elif variant == "orm-loop":
        rows, size = run_orm_loop(target)
    elif variant == "bare-copy":
        rows, size = run_bare_copy(target)
    elif variant == "export-orm":
        rows, size = run_export(target, "orm")
    else:
        rows, size = run_export(target, "copy")
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "bytes": size, "seconds": seconds, "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """Peak resident memory of this process.

    ``VmHWM`` belongs to the process image, so it starts afresh at ``exec``; ``ru_maxrss``
    (the fallback off Linux) can carry over the parent's peak from before the exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Driver ---------------------------------------------------------------------------------
def measure(variant: str, target: str, db_url: str, env: dict[str, str]) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--worker", variant, "--target", target, "--db-url", db_url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode:
        raise SystemExit(f"{variant} failed:\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="trades in the day")
    parser.add_argument("--repeat", type=int, default=2, help="runs per variant (best kept)")
    parser.add_argument("--quick", action="store_true", help="same as --rows 50000 --repeat 1")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.target, args.db_url)
        return 0
    if args.quick:
        args.rows, args.repeat = 50_000, 1

    from moto.server import ThreadedMotoServer

    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_url = scratch_database(admin_url, DB_NAME)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PYTHONPYCACHEPREFIX", None)
    results: dict[str, dict] = {}
    try:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        setup_django(db_url)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fill(args.rows)
        connections.close_all()
        print(
            f"loaded {args.rows:,} trades in {time.perf_counter() - started:.1f}s", file=sys.stderr
        )

        import boto3

        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket=BUCKET)

        with tempfile.TemporaryDirectory(prefix="tradepulse-bench-") as folder:
            for variant in VARIANTS:
                target = f"s3://{BUCKET}/bench" if variant == "export-s3" else folder
                runs = [
                    measure(variant, target, db_url, env)
                    for _ in range(1 if variant == "idle" else args.repeat)
                ]
                best = min(runs, key=lambda r: r["seconds"])
                best["peak_mb"] = max(r["peak_mb"] for r in runs)
                results[variant] = best
                print(f"{variant}: {best}", file=sys.stderr)
    finally:
        from django.db import connections

        connections.close_all()
        server.stop()
        drop_database(admin_url, DB_NAME)

    copy_seconds = results["bare-copy"]["seconds"]
    orm_rate = results["orm-loop"]["rows"] / results["orm-loop"]["seconds"]
    lines = [
        f"| Export of one day, {args.rows:,} trades (PostgreSQL, {os.cpu_count()} cores) "
        "| rows/s | seconds | peak RSS (MB) | speed vs ORM loop | time vs bare COPY |",
        "|---|---|---|---|---|---|",
    ]
    for variant, label in VARIANTS.items():
        r = results[variant]
        if variant == "idle":
            lines.append(f"| {label} | | | {r['peak_mb']:.0f} | | |")
            continue
        rate = r["rows"] / r["seconds"]
        lines.append(
            f"| {label} | {rate:,.0f} | {r['seconds']:.2f} | {r['peak_mb']:.0f} "
            f"| {rate / orm_rate:.1f}x | {r['seconds'] / copy_seconds:.2f}x |"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
