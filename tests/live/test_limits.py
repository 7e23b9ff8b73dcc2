"""What one client may do to a socket: message size and list caps, one error per message,
slow readers, origins, unrouted paths, sockets per user."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.live.conftest import ORIGIN, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


async def drain(ws, timeout=0.3) -> list[dict]:
    seen = []
    while not await ws.receive_nothing(timeout=timeout):
        output = await ws.receive_output()
        seen.append(json.loads(output["text"]) if "text" in output else output)
    return seen


async def test_a_megabyte_subscribe_frame_gets_one_error_and_a_close(
    connect, session_cookie, scripted_feed
):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    frame = json.dumps({"subscribe": ["$"] * 199_990})
    assert len(frame) > 999_000  # about 1 MB
    await ws.send_to(text_data=frame)
    seen = await drain(ws)
    errors = [m for m in seen if m.get("type") == "error"]
    assert [e["error"] for e in errors] == ["message_too_big"]
    assert "4096 bytes" in errors[0]["reason"]
    assert seen[-1] == {"type": "websocket.close", "code": 1009, "reason": errors[0]["reason"]}


async def test_a_subscribe_list_over_the_cap_is_one_error_and_the_socket_stays(
    connect, session_cookie, scripted_feed, settings
):
    settings.LIVE_WS_MAX_TICKERS = 20
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"subscribe": ["$"] * 500})
    await ws.send_json_to({"type": "ping"})
    seen = await receive_until(ws, lambda m: m["type"] == "pong")
    errors = [m for m in seen if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["error"] == "too_many_tickers"
    assert "500" in errors[0]["reason"]


async def test_many_bad_tickers_in_one_message_are_one_error_naming_them(
    connect, session_cookie, scripted_feed
):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"subscribe": ["$1", "$2", "MSFT", "$3"]})
    seen = await receive_until(ws, lambda m: m["type"] == "snapshot" and m["ticker"] == "MSFT")
    errors = [m for m in seen if m["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["error"] == "invalid_ticker" and errors[0]["tickers"] == ["$1", "$2", "$3"]
    assert "3 invalid tickers" in errors[0]["reason"]


async def test_a_client_that_does_not_read_is_closed_and_never_holds_up_the_others(
    transactional_db, user, scripted_feed, settings
):
    """The server's send for one client never completes (it does not read): its messages
    queue up to LIVE_WS_SEND_BUFFER_BYTES, then it is closed with 4408, while a reading
    client of the same process keeps getting every tick."""
    from channels.testing import WebsocketCommunicator

    from live import runtime
    from live.consumers import StockPriceConsumer

    settings.LIVE_WS_SEND_BUFFER_BYTES = 4096
    sent: list[dict] = []
    stuck = asyncio.Event()

    async def receive_queue():
        pass

    class NotReading:
        """An ASGI server whose client stopped reading after the handshake."""

        def __init__(self):
            self.inbox: asyncio.Queue = asyncio.Queue()

        async def receive(self):
            return await self.inbox.get()

        async def send(self, message):
            sent.append(message)
            if message["type"] == "websocket.send":
                stuck.set()
                await asyncio.Event().wait()  # never drains

    server = NotReading()
    scope = {
        "type": "websocket",
        "path": "/ws/stocks/AAPL/",
        "headers": [],
        "subprotocols": [],
        "url_route": {"args": (), "kwargs": {"ticker": "AAPL"}},
        "user": user,
    }
    slow = asyncio.create_task(StockPriceConsumer.as_asgi()(scope, server.receive, server.send))
    await server.inbox.put({"type": "websocket.connect"})

    reader = WebsocketCommunicator(
        StockPriceConsumer.as_asgi(), "/ws/stocks/AAPL/", headers=[ORIGIN]
    )
    reader.scope["url_route"] = {"args": (), "kwargs": {"ticker": "AAPL"}}
    reader.scope["user"] = user
    assert (await reader.connect(timeout=5))[0]
    await reader.receive_json_from(timeout=5)
    await asyncio.wait_for(stuck.wait(), 5)

    provider = scripted_feed.provider
    await provider.subscribed.wait()
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC)
    for i in range(200):
        await provider.push("AAPL", 100.0 + i, start + timedelta(seconds=i))
        await reader.receive_json_from(timeout=5)  # the reader gets each one
        if any(m["type"] == "websocket.close" for m in sent):
            break
    closes = [m for m in sent if m["type"] == "websocket.close"]
    assert closes and closes[0]["code"] == 4408
    await server.inbox.put({"type": "websocket.disconnect", "code": 1006})
    await asyncio.wait_for(slow, 5)
    await reader.disconnect()
    await runtime.shutdown()


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "accepted"),
    [
        ("wss", "127.0.0.1", "http://127.0.0.1:6666", False),
        ("wss", "127.0.0.1", "http://127.0.0.1", False),
        ("wss", "127.0.0.1", "https://127.0.0.1", True),
        ("wss", "127.0.0.1:443", "https://127.0.0.1", True),
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:6666", False),
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:8000", True),
        ("ws", "evil.example", "http://evil.example", False),
    ],
)
async def test_the_origin_must_match_scheme_host_and_port(
    connect, session_cookie, scripted_feed, scheme, host, origin, accepted
):
    ws = await connect(
        "AAPL",
        headers=[(b"origin", origin.encode()), (b"host", host.encode()), session_cookie],
        scheme=scheme,
    )
    assert ws.connected is accepted


async def test_a_trusted_origin_is_accepted(connect, session_cookie, scripted_feed, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    ws = await connect(
        "AAPL", headers=[(b"origin", b"https://app.example.com"), session_cookie], scheme="wss"
    )
    assert ws.connected is True


async def test_an_unrouted_websocket_path_is_refused_not_an_error(connect, session_cookie):
    ws = await connect("AAPL", headers=[ORIGIN, session_cookie], path="/ws/nothing/here/")
    assert ws.connected is False


async def test_sockets_per_user_are_capped(connect, session_cookie, scripted_feed, settings):
    settings.LIVE_WS_MAX_PER_USER = 2
    first = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await first.receive_json_from(timeout=5)
    second = await connect("AAPL", headers=[ORIGIN, session_cookie])
    await second.receive_json_from(timeout=5)
    third = await connect("AAPL", headers=[ORIGIN, session_cookie])
    error = await third.receive_json_from(timeout=5)
    assert error["error"] == "too_many_sockets" and error["code"] == 4429
    assert (await third.receive_output(timeout=3))["code"] == 4429

    await first.disconnect()
    fourth = await connect("AAPL", headers=[ORIGIN, session_cookie])
    assert (await fourth.receive_json_from(timeout=5))["type"] == "snapshot"
