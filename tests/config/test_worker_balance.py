"""Web workers of one address compare their load through a shared table; the busier one sheds
a keep-alive connection. The peers here are real processes: a slot is held by a POSIX record
lock, which only another process can see."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import time

import pytest

from config import worker_balance
from config.worker_balance import TAU, Balance
from config.wsgi_threads import BODY_KEY, WSGIThreads

SETTLED = 6 * TAU  # the average is within 0.3 % of the count after this long


def _peer(path: str, in_flight: int, ready, stop) -> None:
    balance = Balance(path)
    for _ in range(in_flight):
        balance.started()
    ready.set()
    stop.wait(30)


class Peer:
    """Another worker process with ``in_flight`` requests in flight, until ``stop()``."""

    def __init__(self, path, in_flight: int) -> None:
        context = multiprocessing.get_context("spawn")
        ready, self._stop = context.Event(), context.Event()
        self.process = context.Process(target=_peer, args=(str(path), in_flight, ready, self._stop))
        self.process.start()
        assert ready.wait(30), "the peer process did not start"

    def stop(self) -> None:
        self._stop.set()
        self.process.join(10)


@pytest.fixture
def table(tmp_path):
    return tmp_path / "table"


def busy(balance: Balance, in_flight: int) -> None:
    for _ in range(in_flight):
        balance.started()
    time.sleep(SETTLED)


@pytest.mark.parametrize(
    ("mine", "peer", "sheds"),
    [
        # The averages: this request has just finished and still counts in the last TAU.
        (6, 1, True),
        (5, 2, True),
        (4, 3, False),  # closer than THRESHOLD (2)
        (2, 6, False),  # the peer is the busier one
    ],
)
def test_the_busier_worker_sheds_a_connection(table, mine, peer, sheds):
    other = Peer(table, peer)
    try:
        balance = Balance(table)
        assert balance.slot != 0  # the peer holds the first slot
        busy(balance, mine)
        assert balance.finished() is sheds
    finally:
        other.stop()


def test_one_connection_per_quiet_period(table):
    other = Peer(table, 0)
    try:
        balance = Balance(table)
        busy(balance, 8)
        assert balance.finished() is True
        assert balance.finished() is False  # within QUIET of the first
        time.sleep(worker_balance.QUIET)
        assert balance.finished() is True
    finally:
        other.stop()


def test_a_dead_peer_is_not_compared_with_and_its_slot_is_taken_again(table):
    other = Peer(table, 0)
    other.stop()
    assert other.process.exitcode == 0
    balance = Balance(table)
    assert balance.slot == 0  # the dead worker's slot, its lock gone with it
    busy(balance, 8)
    assert balance.finished() is False  # alone


def test_a_single_process_takes_no_part():
    assert multiprocessing.parent_process() is None
    assert worker_balance.for_worker() is None


def _scope() -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/x/",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        BODY_KEY: io.BytesIO(b""),
    }


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_the_shed_response_says_connection_close(table):
    """The response of a request that leaves its worker the busier one carries
    ``Connection: close`` (uvicorn then closes the connection after it); the others do not."""
    other = Peer(table, 0)
    try:
        balance = Balance(table)
        app = WSGIThreads(_app, threads=2, balance=balance)

        async def request() -> list:
            sent: list[dict] = []

            async def send(message):
                sent.append(message)

            await app(_scope(), None, send)
            return sent[0]["headers"]

        assert (b"connection", b"close") not in asyncio.run(request())  # 0 against 0
        busy(balance, 5)  # five more in flight in this worker
        headers = asyncio.run(request())
        assert (b"connection", b"close") in headers
        assert (b"content-type", b"text/plain") in headers
    finally:
        other.stop()
