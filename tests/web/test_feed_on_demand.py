"""The in-process feed starts when a paper session or an alert rule needs it, not only when a
browser opens a page with live prices."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async


@pytest.fixture
def started(monkeypatch, settings):
    """Counts feed starts; the feed itself is a provider-less runner that only waits."""
    from channels.layers import channel_layers

    from live import runtime

    settings.FEED_IN_PROCESS = True
    channel_layers.backends.clear()
    runtime._runtime = None

    class Calls(list):
        request_done: asyncio.Event

    calls = Calls()
    request_done = asyncio.Event()

    class IdleFeed:
        """Reads the database once, after the request that started it has ended (as the
        paper sink does on its first refresh), then idles."""

        started = False

        async def run(self):
            from channels.db import database_sync_to_async

            from algo.models import PaperSession

            await request_done.wait()
            calls.append(await database_sync_to_async(PaperSession.objects.count)())
            await asyncio.Event().wait()

        async def stop(self):
            pass

    def factory(layer):
        calls.append(layer)
        return IdleFeed()

    monkeypatch.setattr(runtime, "feed_factory", factory)
    calls.request_done = request_done
    yield calls
    runtime._runtime = None
    channel_layers.backends.clear()


async def wait_for(condition) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the live runtime did not start")


async def signed_in(user):
    from django.test import AsyncClient

    client = AsyncClient()
    await sync_to_async(client.force_login)(user)
    return client


@pytest.mark.django_db(transaction=True)
async def test_starting_a_paper_session_from_the_page_starts_the_feed(started, user):
    from live import runtime

    # Through Django's ASGI request handling, as the server runs the page's sync view.
    client = await signed_in(user)
    response = await client.post("/web/paper/", {"ticker": "AAPL", "bar": "5s"})
    assert response.status_code == 302
    started.request_done.set()
    await wait_for(lambda: len(started) == 2)
    assert started[1] == 1  # the feed's own database read works after the request ended
    await runtime.shutdown()


@pytest.mark.django_db(transaction=True)
async def test_saving_an_alert_rule_starts_the_feed(started, user):
    from live import runtime

    client = await signed_in(user)
    response = await client.post(
        "/web/alerts/rules/", {"ticker": "AAPL", "threshold_pct": "1.5", "window_seconds": "30"}
    )
    assert response.status_code == 302
    started.request_done.set()
    await wait_for(lambda: len(started) == 2)
    await runtime.shutdown()


@pytest.mark.django_db(transaction=True)
def test_outside_a_server_nothing_starts(started, user):
    from algo.api.inputs import PaperSessionInput
    from algo.models import PaperSession
    from algo.services import paper_session_start
    from live import runtime

    for ticker, runner in (("AAPL", PaperSession.Runner.COMMAND), ("MSFT", "feed")):
        given = PaperSessionInput(data={"ticker": ticker})
        given.is_valid(raise_exception=True)
        paper_session_start(owner=user, params=given.session_params(), runner=runner)
    assert runtime.current() is None and not started
