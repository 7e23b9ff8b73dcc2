"""Helpers for reading provider streams in tests without hanging on a broken one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tradepulse.market import ProviderState, ProviderStatus, StreamItem, Tick


async def next_item(stream: AsyncIterator[StreamItem], timeout: float = 5.0) -> StreamItem:
    async with asyncio.timeout(timeout):
        return await anext(stream)


async def next_tick(stream: AsyncIterator[StreamItem], timeout: float = 5.0) -> Tick:
    async with asyncio.timeout(timeout):
        async for item in stream:
            if isinstance(item, Tick):
                return item
    raise AssertionError("stream ended without a tick")


async def next_status(
    stream: AsyncIterator[StreamItem], state: ProviderState | None = None, timeout: float = 5.0
) -> ProviderStatus:
    """The next status (of `state`, if given), skipping ticks and other statuses."""
    async with asyncio.timeout(timeout):
        async for item in stream:
            if isinstance(item, ProviderStatus) and (state is None or item.state == state):
                return item
    raise AssertionError("stream ended without that status")
