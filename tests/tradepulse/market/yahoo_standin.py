"""A local stand-in for Yahoo's price streamer, speaking its protocol on 127.0.0.1.

Clients send `{"subscribe": [...]}` / `{"unsubscribe": [...]}` JSON text frames; the server
sends `{"type": "pricing", "message": "<base64 PricingData>"}` for subscribed symbols.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from websockets.asyncio.server import Server, ServerConnection, serve

from tradepulse.market.yahoo import encode_pricing_message


@dataclass
class StandInConnection:
    connection: ServerConnection
    subscriptions: set[str] = field(default_factory=set)
    messages: list[dict] = field(default_factory=list)


class YahooStandIn:
    """Records every client frame; `publish` sends a price to subscribed connections;
    `drop_connections` aborts the TCP connections without a close frame; `silent` makes it
    accept connections and subscriptions but never send prices."""

    def __init__(self) -> None:
        self.connections: list[StandInConnection] = []
        self.silent = False
        self._server: Server | None = None
        self._changed = asyncio.Condition()
        self.url = ""

    async def __aenter__(self) -> YahooStandIn:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/?version=2"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, connection: ServerConnection) -> None:
        state = StandInConnection(connection)
        self.connections.append(state)
        await self._notify()
        with contextlib.suppress(Exception):
            async for frame in connection:
                message = json.loads(frame)
                state.messages.append(message)
                state.subscriptions.update(message.get("subscribe", ()))
                state.subscriptions.difference_update(message.get("unsubscribe", ()))
                await self._notify()
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_for_subscription(self, symbol: str, connection_index: int = -1) -> None:
        def subscribed() -> bool:
            try:
                return symbol in self.connections[connection_index].subscriptions
            except IndexError:
                return False

        await self.wait_for(subscribed)

    async def publish(self, symbol: str, price: float, time_ms: int, **fields) -> int:
        """Send one price to every open connection subscribed to `symbol`; returns how many."""
        if self.silent:
            return 0
        frame = encode_pricing_message(symbol, price, time_ms, **fields)
        sent = 0
        for state in self.connections:
            if symbol in state.subscriptions and state.connection.state.name == "OPEN":
                with contextlib.suppress(Exception):
                    await state.connection.send(frame)
                    sent += 1
        return sent

    async def send_raw(self, frame: str) -> None:
        for state in self.connections:
            if state.connection.state.name == "OPEN":
                await state.connection.send(frame)

    def drop_connections(self) -> None:
        for state in self.connections:
            state.connection.transport.abort()
