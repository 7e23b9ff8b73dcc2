"""A feed process for the scaled-mode benchmarks: TradePulse's ``FeedRunner`` over the
synthetic provider of ``bench/live_apps.py`` (``BENCH_RATE`` ticks/s per ticker, each tick
stamped when made), publishing through the Redis channel layer (``REDIS_URL``), as
``manage.py run_feed`` does with a real provider. Stopped by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


async def run() -> None:
    from channels.layers import get_channel_layer

    from bench.live_apps import _tradepulse_feed

    feed = _tradepulse_feed(get_channel_layer())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(feed.stop()))
    await feed.run()


if __name__ == "__main__":
    import django

    django.setup()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
