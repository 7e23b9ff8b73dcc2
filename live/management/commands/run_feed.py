"""Run the live feed as its own process (the scaled mode, Redis channel layer): the leader
publishes, any other ``run_feed`` stands by to take over (see live/lease.py)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.factories import feed_from_settings, redis_client
from live.lease import FeedLease, FencedPublisher, lead_or_stand_by


class Command(BaseCommand):
    help = (
        "Run the live feed: stream prices from MARKET_DATA_PROVIDER, raise and store alerts, "
        "publish to the channel layer. Run two (or more) for a hot standby: one leads (holds "
        "the lease in Redis), the others take over within FEED_LEASE_SECONDS + 1 s of its "
        "death. Stop with Ctrl-C or SIGTERM."
    )

    def handle(self, *args, **options):
        backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
        if backend.endswith("InMemoryChannelLayer"):
            raise CommandError(
                "the in-memory channel layer only reaches its own process: set REDIS_URL so "
                "that run_feed and the web server share a Redis channel layer (with the "
                "in-memory layer the feed runs inside the web server by itself)"
            )
        if not backend.endswith("RedisPubSubChannelLayer") or not settings.REDIS_URL:
            raise CommandError(
                "run_feed publishes through Redis pub/sub: it needs REDIS_URL and the "
                "channels_redis.pubsub.RedisPubSubChannelLayer channel layer"
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._run())

    async def _run(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "asgi")
        redis = redis_client()
        lease = FeedLease(redis, ttl=settings.FEED_LEASE_SECONDS)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        runners = []

        def build(token: int):
            runner = feed_from_settings(
                layer, publisher=FencedPublisher(redis, layer, token, prefix=prefix)
            )
            runners.append(runner)
            return runner

        def report(state: str, token: int | None) -> None:
            if state == "leading":
                self.stdout.write(
                    f"feed: leading (token {token}), {settings.MARKET_DATA_PROVIDER} provider, "
                    f"publishing every {settings.FEED_PUBLISH_INTERVAL:g} s; Ctrl-C to stop"
                )
            else:
                self.stdout.write("feed: standing by (another feed leads)")
            self.stdout.flush()

        await lead_or_stand_by(lease, build, stop, on_change=report)
        ticks = sum(r.ticks_received for r in runners)
        raised = sum(r.alerts_raised for r in runners)
        stored = sum(r.alerts_stored for r in runners)
        self.stdout.write(f"feed stopped: {ticks} ticks, {raised} alerts ({stored} stored)")
        with contextlib.suppress(Exception):
            await redis.aclose()
