"""Fixtures of the cloud tests: trades on known days, an export folder, settings pointing at it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

DAY = "2025-01-20"


@pytest.fixture
def make_trade(db):
    from ledger.models import Trade

    def make(owner, ticker, side, price, quantity, timestamp: str):
        return Trade.objects.create(
            owner=owner,
            ticker=ticker,
            side=side,
            price=Decimal(price),
            quantity=Decimal(quantity),
            timestamp=datetime.fromisoformat(timestamp),
        )

    return make


@pytest.fixture
def day_trades(user, other_user, make_trade):
    """Trades of 2025-01-20 by two users, out of order, with neighbours just outside the day."""
    make_trade(user, "AAPL", "buy", "187.25", "10", "2025-01-19T23:59:59.999999+00:00")
    late = make_trade(
        other_user, "MSFT", "sell", "410.10000000", "2.5", "2025-01-20T23:59:59+00:00"
    )
    first = make_trade(user, "AAPL", "buy", "187.25", "10", "2025-01-20T00:00:00+00:00")
    # Same instant as the next one but created later: ordered after it by id.
    b = make_trade(other_user, "AAPL", "sell", "188", "4", "2025-01-20T14:30:00.5+00:00")
    c = make_trade(user, "NVDA", "buy", "0.00000001", "1000000", "2025-01-20T14:30:00.5+00:00")
    # An offset other than UTC: still the UTC day 2025-01-20 (09:15 UTC).
    d = make_trade(user, "BTC-USD", "buy", "64250.5", "0.015", "2025-01-20T10:15:00+01:00")
    make_trade(user, "AAPL", "sell", "190", "1", "2025-01-21T00:00:00+00:00")
    return [first, d, b, c, late]


def expected_csv(trades) -> bytes:
    """The export of ``day_trades``, written out by hand."""
    first, d, b, c, late = trades
    return (
        "trade_id,user,ticker,side,price,quantity,timestamp\n"
        f"{first.id},alice,AAPL,buy,187.25,10,2025-01-20T00:00:00.000000Z\n"
        f"{d.id},alice,BTC-USD,buy,64250.5,0.015,2025-01-20T09:15:00.000000Z\n"
        f"{b.id},bob,AAPL,sell,188,4,2025-01-20T14:30:00.500000Z\n"
        f"{c.id},alice,NVDA,buy,0.00000001,1000000,2025-01-20T14:30:00.500000Z\n"
        f"{late.id},bob,MSFT,sell,410.1,2.5,2025-01-20T23:59:59.000000Z\n"
    ).encode()


@pytest.fixture
def export_dir(tmp_path, settings):
    """An empty export folder, configured as TRADES_EXPORT_URL."""
    folder = tmp_path / "exports"
    settings.TRADES_EXPORT_URL = folder.as_uri()
    return folder


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    """An HTTP server on 127.0.0.1 in a thread, answering with ``respond(handler)``."""

    def __init__(self, respond) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                respond(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(handler, status: int, body: bytes, content_type="application/json", headers=None):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def api_gateway(s3_bucket, monkeypatch):
    """The Lambda handler behind a local stand-in for API Gateway (REST API, proxy integration).

    ``GET /Prod/trade-analysis?date=...`` becomes the proxy event, the handler's answer becomes
    the HTTP response. The function reads and writes ``s3_bucket`` on the moto server.
    """
    import json
    from pathlib import Path
    from urllib.parse import parse_qs, urlsplit

    from lambdas.trade_analysis import app

    template = json.loads((Path(app.__file__).parent / "events" / "api_gateway.json").read_text())
    monkeypatch.setenv("TRADES_BUCKET", s3_bucket)
    monkeypatch.delenv("TRADES_PREFIX", raising=False)
    app.s3_client.cache_clear()

    def respond(handler):
        parts = urlsplit(handler.path)
        if parts.path != "/Prod/trade-analysis":
            _reply(handler, 403, b'{"message":"Missing Authentication Token"}')
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        event = {**template, "queryStringParameters": query or None}
        answer = app.handler(event, None)
        _reply(handler, answer["statusCode"], answer["body"].encode())

    server = _Server(respond)
    server.url += "/Prod/trade-analysis"
    yield server
    server.close()
    app.s3_client.cache_clear()


@pytest.fixture
def slow_server():
    """An HTTP server that answers nothing for 5 s (a hung backend)."""
    import threading

    release = threading.Event()

    def respond(handler):
        release.wait(5)

    server = _Server(respond)
    yield server
    release.set()
    server.close()


@pytest.fixture
def reply_server():
    """An HTTP server answering every request with ``server.answer = (status, body)``."""

    def respond(handler):
        status, body = server.answer
        _reply(handler, status, body)

    server = _Server(respond)
    server.answer = (200, b"{}")
    yield server
    server.close()
