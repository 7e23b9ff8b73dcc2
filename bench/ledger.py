"""Ledger benchmark on PostgreSQL: TradePulse's API beside the plain-DRF peer, same table, same run.

Measures single-trade POST/s, bulk insert trades/s, and the latency (p50/p99) of a filtered list
page at 100k and 1M rows. Requests go through Django's full stack in-process (middleware,
authentication, views, rendering), so the figures compare the two code paths, not an HTTP server.

    .venv/bin/python bench/ledger.py            # 100k and 1M rows
    .venv/bin/python bench/ledger.py --quick    # 10k and 50k rows, fewer requests

Uses BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) to create and drop
a scratch database ``tradepulse_bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "BRK.B", "JPM", "V"]


def scratch_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(admin_url)
    return parsed._replace(path=f"/{name}").geturl()


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def fill(owner_id: int, other_id: int, start_id: int, count: int) -> None:
    """COPY ``count`` trades (6 in 7 for the bench user) one second apart, from 2024-01-01."""
    from django.db import connection

    from ledger.services import COPY_COLUMNS

    base = datetime(2024, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    rng = random.Random(start_id)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY ledger_trade ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for i in range(start_id, start_id + count):
                copy.write_row(
                    (
                        i,
                        owner_id if i % 7 else other_id,
                        TICKERS[i % len(TICKERS)],
                        "buy" if i % 3 else "sell",
                        f"{rng.uniform(10, 500):.2f}",
                        str(rng.randint(1, 100)),
                        base + timedelta(seconds=i),
                        "import",
                        "",
                        now,
                        now,
                    )
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_trade', 'id'), (SELECT MAX(id) FROM ledger_trade))"
        )
    # A table in steady state: what autovacuum and the checkpointer would otherwise be doing
    # on the same two cores while the requests are timed.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) ledger_trade")
        cursor.execute("CHECKPOINT")


class Response:
    def __init__(self, status: str, body: bytes):
        self.status_code = int(status.split()[0])
        self.content = body


class WSGIClient:
    """Calls the project's WSGI application the way a WSGI server does: no test-client
    instrumentation, request_started/finished signals (and so connection handling) and
    start-up (``config.startup``) as in production."""

    def __init__(self):
        from config.wsgi import application

        self.app = application

    def _call(self, method: str, path: str, query: str, body: bytes, content_type: str, headers):
        import io

        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **headers,
        }
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = status

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return Response(captured["status"], content)

    def get(self, path: str, params: dict | None = None, **headers):
        from urllib.parse import urlencode

        return self._call("GET", path, urlencode(params or {}), b"", "", headers)

    def post(self, path: str, body: str, content_type: str, **headers):
        return self._call("POST", path, "", body.encode(), content_type, headers)


def time_request(client, url: str, params: dict, headers: dict) -> float:
    started = time.perf_counter()
    response = client.get(url, params, **headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed


def list_latency(client, headers, total_rows: int, samples: int) -> dict[str, tuple[float, float]]:
    """Filtered list pages (ticker + date range) at random depths, ours by cursor, peer by page."""
    from django.contrib.auth import get_user_model

    from api.pagination import KeysetPagination
    from ledger.models import Trade

    user = get_user_model().objects.get(username="bench")
    rng = random.Random(7)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    ours, peer = [], []
    for _ in range(samples):
        ticker = rng.choice(TICKERS)
        start = base + timedelta(seconds=rng.randint(0, total_rows // 4))
        end = base + timedelta(seconds=total_rows)
        depth = rng.random()  # how far into the result the user has paged
        params = {
            "ticker": ticker.lower(),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        }
        matching = Trade.objects.filter(
            owner=user, ticker=ticker, timestamp__gte=start, timestamp__lte=end
        ).count()
        page = max(1, min(int(depth * matching / 100) + 1, -(-matching // 100)))
        cursor_at = end - timedelta(seconds=int(depth * (end - start).total_seconds()))
        token = KeysetPagination.encode(cursor_at, 10**12, False)
        ours.append(("/api/trades/", {**params, "cursor": token}))
        peer.append(("/peer/trades/", {**params, "page": page}))
    for url, params in ours[:5] + peer[:5]:  # warm caches
        client.get(url, params, **headers)
    # Interleaved, so that both see the same machine at the same moment.
    ours_ms, peer_ms = [], []
    for (our_url, our_params), (peer_url, peer_params) in zip(ours, peer, strict=True):
        ours_ms.append(time_request(client, our_url, our_params, headers))
        peer_ms.append(time_request(client, peer_url, peer_params, headers))
    return {
        "ours": (statistics.median(ours_ms), percentile(ours_ms, 99)),
        "peer": (statistics.median(peer_ms), percentile(peer_ms, 99)),
    }


def single_posts(client, headers, count: int) -> tuple[float, float]:
    """Creates/s through each API, in alternating batches so both see the same machine."""
    body = json.dumps({"ticker": "AAPL", "side": "buy", "price": "189.25", "quantity": "10"})
    urls = {"ours": "/api/trades/", "peer": "/peer/trades/"}
    spent = {"ours": 0.0, "peer": 0.0}
    for url in urls.values():
        for _ in range(20):
            client.post(url, body, content_type="application/json", **headers)
    batch = 50
    for _ in range(count // batch):
        for name, url in urls.items():
            started = time.perf_counter()
            for _ in range(batch):
                response = client.post(url, body, content_type="application/json", **headers)
                assert response.status_code == 201, response.content[:300]
            spent[name] += time.perf_counter() - started
    done = (count // batch) * batch
    return done / spent["ours"], done / spent["peer"]


def bulk_posts(client, headers, rounds: int) -> tuple[float, float]:
    items = [
        {"ticker": TICKERS[i % 10], "side": "buy", "price": f"{100 + i % 50}.25", "quantity": "3"}
        for i in range(10_000)
    ]
    payload = json.dumps(items)
    started = time.perf_counter()
    for _ in range(rounds):
        response = client.post(
            "/api/trades/bulk/", payload, content_type="application/json", **headers
        )
        assert response.status_code == 201, response.content[:300]
    ours = rounds * len(items) / (time.perf_counter() - started)
    # The peer's bulk path: a ModelSerializer(many=True) saving item by item.
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench.ledger_peer import PeerTradeSerializer

    user = get_user_model().objects.get(username="bench")
    small = items[:2000]
    started = time.perf_counter()
    serializer = PeerTradeSerializer(data=small, many=True)
    serializer.is_valid(raise_exception=True)
    with transaction.atomic():
        serializer.save(owner=user)
    peer = len(small) / (time.perf_counter() - started)
    return ours, peer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    sizes = (10_000, 50_000) if args.quick else (100_000, 1_000_000)
    samples = 100 if args.quick else 400
    posts = 300 if args.quick else 2000

    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_url = scratch_database(admin_url, "tradepulse_bench")
    os.environ["DATABASE_URL"] = db_url
    os.environ["THROTTLE_USER"] = "100000000/min"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "k" * 50)
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from api.tokens import token_issue

        settings.ROOT_URLCONF = "bench.ledger_peer"
        call_command("migrate", verbosity=0)
        User = get_user_model()
        user = User.objects.create_user("bench")
        other = User.objects.create_user("other")
        headers = {"HTTP_AUTHORIZATION": f"Token {token_issue(user=user)[1]}"}
        client = WSGIClient()

        results: dict = {"rows": {}}
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            fill(user.id, other.id, loaded + 1, size - loaded)
            print(f"loaded {size:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            loaded = size
            results["rows"][size] = list_latency(client, headers, size, samples)

        results["post_ours"], results["post_peer"] = single_posts(client, headers, posts)
        results["bulk_ours"], results["bulk_peer"] = bulk_posts(
            client, headers, 3 if args.quick else 10
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(admin_url, "tradepulse_bench")

    small, large = sizes
    lines = [
        f"| Measure (PostgreSQL, {os.cpu_count()} cores) | TradePulse | Plain DRF peer | Ratio |",
        "|---|---|---|---|",
    ]
    for size in sizes:
        o, p = results["rows"][size]["ours"], results["rows"][size]["peer"]
        lines.append(
            f"| Filtered list page p50 / p99 at {size:,} rows (ms) | {o[0]:.2f} / {o[1]:.2f} "
            f"| {p[0]:.2f} / {p[1]:.2f} | {p[1] / o[1]:.1f}x faster (p99) |"
        )
    growth = results["rows"][large]["ours"][1] / results["rows"][small]["ours"][1]
    lines.append(
        f"| List p99 growth {small:,} -> {large:,} rows | {growth:.2f}x | "
        f"{results['rows'][large]['peer'][1] / results['rows'][small]['peer'][1]:.2f}x | |"
    )
    lines.append(
        f"| Single-trade POST/s | {results['post_ours']:.0f} | {results['post_peer']:.0f} "
        f"| {results['post_ours'] / results['post_peer']:.2f}x |"
    )
    lines.append(
        f"| Bulk insert trades/s | {results['bulk_ours']:,.0f} | {results['bulk_peer']:,.0f} "
        f"| {results['bulk_ours'] / results['bulk_peer']:.1f}x |"
    )
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
