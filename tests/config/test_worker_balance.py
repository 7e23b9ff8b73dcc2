"""Web workers of one address compare their load through a shared table; the busier one sheds
a keep-alive connection. The peers here are real processes: a row is held by a POSIX record
lock, which only another process can see."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import time

import pytest

from config import worker_balance
from config.worker_balance import TAU, Balance
from config.wsgi_threads import BODY_KEY, WSGIThreads

SETTLED = 6 * TAU  # an average is within 0.3 % of the load after this long


def _peer(path: str, commands, ready) -> None:
    balance = Balance(path)
    ready.set()
    while (command := commands.get()) is not None:
        for _ in range(abs(command)):
            balance.started() if command > 0 else balance.finished()
        ready.set()


class Peer:
    """Another worker process; ``load(n)`` gives it n more requests (or fewer)."""

    def __init__(self, path, load: int = 0) -> None:
        context = multiprocessing.get_context("spawn")
        self._commands, self._ready = context.Queue(), context.Event()
        self.process = context.Process(target=_peer, args=(str(path), self._commands, self._ready))
        self.process.start()
        assert self._ready.wait(30), "the peer process did not start"
        self.load(load)

    def load(self, change: int) -> None:
        self._ready.clear()
        self._commands.put(change)
        assert self._ready.wait(10)

    def stop(self) -> None:
        self._commands.put(None)
        self.process.join(10)


@pytest.fixture
def table(tmp_path):
    return tmp_path / "table"


@pytest.fixture
def peer(table):
    peers: list[Peer] = []

    def start(load: int = 0) -> Peer:
        peers.append(Peer(table, load))
        return peers[-1]

    yield start
    for each in peers:
        each.stop()


@pytest.fixture
def balance(table):
    opened: list[Balance] = []

    def open_() -> Balance:
        opened.append(Balance(table))
        return opened[-1]

    yield open_
    for each in opened:
        each.close()


def busy(balance: Balance, load: int) -> None:
    for _ in range(load):
        balance.started()
    time.sleep(SETTLED)


@pytest.mark.parametrize(
    ("mine", "theirs", "sheds"),
    [
        (6, 1, True),
        (5, 2, True),  # the threshold is 2
        (4, 3, False),
        (2, 6, False),  # the peer is the busier one
    ],
)
def test_the_busier_worker_sheds_a_connection(peer, balance, mine, theirs, sheds):
    peer(theirs)
    worker = balance()
    assert worker.slot != 0  # the peer holds the first row
    busy(worker, mine)
    assert worker.should_shed() is sheds


def test_a_request_counts_until_it_gives_its_place_up(peer, balance):
    peer(0)
    worker = balance()
    busy(worker, 5)
    for _ in range(5):
        worker.finished()
    time.sleep(SETTLED)
    assert worker.should_shed() is False


def test_sheds_at_most_one_connection_per_quiet_period(peer, balance, monkeypatch):
    quiet = 0.4  # wide enough that a loaded machine's sleeps stay inside the period
    monkeypatch.setattr(worker_balance, "QUIET", quiet)
    other = peer(0)
    worker = balance()
    busy(worker, 8)
    assert worker.should_shed() is True
    shed = time.monotonic()
    time.sleep(quiet / 2)
    assert worker.should_shed() is False  # within the quiet period
    time.sleep(max(0.0, shed + quiet * 1.1 - time.monotonic()))
    assert worker.should_shed() is True
    # Once the loads are within THRESHOLD, no more.
    other.load(7)
    time.sleep(max(SETTLED, quiet * 1.1))
    assert worker.should_shed() is False


def test_a_dead_peer_is_not_compared_with_and_its_row_is_taken_again(peer, balance):
    other = peer(0)
    other.stop()
    assert other.process.exitcode == 0
    worker = balance()
    assert worker.slot == 0  # the dead worker's row, its lock gone with it
    busy(worker, 8)
    assert worker.should_shed() is False  # alone


def _spawned_worker(results) -> None:
    first = worker_balance.for_worker()
    results.put((first is worker_balance.for_worker(), str(first.path) if first else None))


def test_a_worker_spawned_by_a_supervisor_takes_part():
    assert worker_balance.for_worker() is None  # this process has no supervisor
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_spawned_worker, args=(results,))
    child.start()
    same, path = results.get(timeout=30)
    child.join(30)
    assert same is True  # one row per process
    folder = worker_balance.table_folder()
    assert path is not None and path.startswith(
        str(folder / f"tradepulse-web-{os.geteuid()}-{os.getpid()}-")
    )
    os.unlink(path)


def test_only_tables_of_servers_that_have_gone_are_removed(tmp_path):
    dead = 2**22 + 1  # above the default pid_max
    uid = os.geteuid()
    for name in (
        f"tradepulse-web-{uid}-{dead}-100",
        f"tradepulse-web-{uid}-{os.getpid()}-100",
        f"tradepulse-web-{uid + 1}-{dead}-100",
        f"tradepulse-web-{uid}-x",
    ):
        (tmp_path / name).write_bytes(b"")
    worker_balance.remove_orphans(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"tradepulse-web-{uid}-{os.getpid()}-100", f"tradepulse-web-{uid + 1}-{dead}-100"]
        + [f"tradepulse-web-{uid}-x"]
    )


def _scope(**extra) -> dict:
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
        **extra,
    }


class _Whole(list):
    streaming = False  # as Django's HttpResponse: the body is held in memory


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _Whole([b"ok"])


def _response_headers(app, scope) -> list:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, None, send))
    return sent[0]["headers"]


def test_the_shed_response_says_connection_close(peer, balance):
    """The response sent while its worker is the busier one carries ``Connection: close``
    (uvicorn then closes the connection after it); the others do not."""
    peer(0)
    worker = balance()
    app = WSGIThreads(_app, threads=2, balance=worker)
    assert (b"connection", b"close") not in _response_headers(app, _scope())  # 0 against 0
    busy(worker, 5)  # five more requests in this worker
    # A client that closes its connection anyway is not asked to, and the turn is not spent.
    one_shot = [(b"connection", b"close")]
    assert _response_headers(app, _scope(headers=one_shot)) == [(b"content-type", b"text/plain")]
    assert _response_headers(app, _scope(http_version="1.0")) == [(b"content-type", b"text/plain")]
    headers = _response_headers(app, _scope())
    assert (b"connection", b"close") in headers
    assert (b"content-type", b"text/plain") in headers
