"""Run the feed runner as its own process (the Redis channel layer mode)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.feed import feed_from_settings


class Command(BaseCommand):
    help = (
        "Run the live feed: stream prices from MARKET_DATA_PROVIDER, raise and store alerts, "
        "publish to the channel layer. Run exactly one per deployment; stop with Ctrl-C."
    )

    def handle(self, *args, **options):
        if settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer"):
            raise CommandError(
                "the in-memory channel layer only reaches its own process: set REDIS_URL so "
                "that run_feed and the web server share a Redis channel layer (with the "
                "in-memory layer the feed runs inside the web server by itself)"
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._run())

    async def _run(self) -> None:
        feed = feed_from_settings()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(feed.stop()))
        self.stdout.write(
            f"feed: {feed.provider.name} provider, publishing every "
            f"{feed.config.publish_interval:g} s; Ctrl-C to stop"
        )
        await feed.run()
        self.stdout.write(
            f"feed stopped: {feed.ticks_received} ticks, {feed.alerts_raised} alerts "
            f"({feed.alerts_stored} stored)"
        )
