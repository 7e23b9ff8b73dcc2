"""Django's WSGI handler behind the event loop: whole bodies in one piece, streamed bodies on
the thread that produces them, and a few requests admitted to run at once."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from config.wsgi_threads import BODY_KEY, Threads, WSGIThreads


def _scope(body: bytes = b"") -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST" if body else "GET",
        "path": "/x/",
        "query_string": b"a=1",
        "headers": [(b"content-length", str(len(body)).encode())] if body else [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        BODY_KEY: io.BytesIO(body),
    }


def _serve(app, scope) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def main():
        await WSGIThreads(app, threads=2)(scope, None, send)

    asyncio.run(main())
    return sent


class _Body:
    """A WSGI body that records the thread of each step."""

    def __init__(self, chunks, streaming):
        self.chunks = chunks
        self.streaming = streaming
        self.threads: list[str] = []
        self.closed = False

    def __iter__(self):
        for chunk in self.chunks:
            self.threads.append(threading.current_thread().name)
            yield chunk

    def close(self):
        self.threads.append(threading.current_thread().name)
        self.closed = True


def test_a_response_in_memory_is_sent_whole_with_the_application_s_status_and_headers():
    seen = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        seen["query"] = environ["QUERY_STRING"]
        start_response("201 Created", [("Content-Type", "application/json")])
        return _Body([b'{"id": ', b"1}"], streaming=False)

    sent = _serve(app, _scope(b'{"ticker": "AAPL"}'))
    assert seen == {"body": b'{"ticker": "AAPL"}', "query": "a=1"}
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json")],
        },
        {"type": "http.response.body", "body": b'{"id": 1}'},
    ]


def test_a_second_start_response_with_an_error_replaces_the_first():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], (1, 2, 3))
        return _Body([b"failed"], streaming=False)

    sent = _serve(app, _scope())
    assert sent[0]["status"] == 500 and sent[0]["headers"] == [(b"content-type", b"text/plain")]


def test_a_streamed_body_is_produced_and_closed_on_one_thread_chunk_by_chunk():
    body = _Body([b"a,b\n", b"", b"1,2\n", b"3,4\n"], streaming=True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return body

    sent = _serve(app, _scope())
    assert sent[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/csv")],
    }
    assert [m.get("body") for m in sent[1:]] == [b"a,b\n", b"1,2\n", b"3,4\n", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]
    # A database cursor behind the chunks belongs to the thread that opened it.
    assert body.closed and len(set(body.threads)) == 1
    assert body.threads[0] != threading.main_thread().name


def _gated_app(gates: dict[str, threading.Event], started: list[str]):
    """An application whose request for path P waits for ``gates[P]`` (if any) before it
    answers; a path under /stream/ answers with a streamed body that waits after its first
    chunk instead."""

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        started.append(path)
        start_response("200 OK", [("Content-Type", "text/plain")])
        gate = gates.get(path)
        if path.startswith("/stream/"):

            def chunks():
                yield b"first"
                gate.wait(10)
                yield b"rest"

            return _Body(chunks(), streaming=True)
        if gate is not None:
            gate.wait(10)
        return _Body([path.encode()], streaming=False)

    return app


def _two_requests(app, first: str, second: str, *, hold: float, release) -> dict:
    """``first``, then ``second`` while ``first`` runs, on a server admitting one request at a
    time; ``release()`` lets ``first`` finish once ``second`` has answered or 1 s has passed."""
    answered: dict[str, float] = {}

    async def main():
        loop = asyncio.get_running_loop()
        server = WSGIThreads(app, threads=4, concurrency=1, hold=hold)

        async def request(path):
            sent = []

            async def send(message):
                sent.append(message)

            await server({**_scope(), "path": path}, None, send)
            answered[path] = loop.time()

        one = asyncio.create_task(request(first))
        await asyncio.sleep(0.05)
        two = asyncio.create_task(request(second))
        done, _ = await asyncio.wait({two}, timeout=1.0)
        answered["second answered while the first ran"] = bool(done)
        release()
        await asyncio.gather(one, two)

    asyncio.run(main())
    return answered


@pytest.mark.parametrize(
    ("first", "hold", "second_goes_first"),
    [
        ("/slow/", 30.0, False),  # past the concurrency: waits for a place
        ("/slow/", 0.05, True),  # a slow request gives its place up after the hold time
        ("/stream/", 30.0, True),  # a streamed response gives it up while its client reads
    ],
    ids=["waits-for-a-place", "slow-gives-place-up", "stream-gives-place-up"],
)
def test_one_place_a_slow_request_gives_up_after_the_hold_time_or_when_it_streams(
    first, hold, second_goes_first
):
    gate = threading.Event()
    started: list[str] = []
    app = _gated_app({first: gate}, started)
    answered = _two_requests(app, first, "/fast/", hold=hold, release=gate.set)
    assert answered["second answered while the first ran"] is second_goes_first
    assert started == [first, "/fast/"]
    assert (answered["/fast/"] < answered[first]) is second_goes_first


@pytest.mark.parametrize(
    ("threads", "hold"),
    [(4, 30.0), (1, 0.01)],
    # With one thread and a short hold, the slow request gives its place up but keeps the
    # thread: the next one is admitted and waits for the thread instead.
    ids=["waiting-for-a-place", "waiting-for-a-thread"],
)
def test_a_request_whose_client_left_while_it_waited_is_not_run(threads, hold):
    from config import disconnect

    gate = threading.Event()
    started: list[str] = []
    app = _gated_app({"/slow/": gate}, started)
    sent: dict[str, list] = {"/slow/": [], "/left/": []}

    async def main():
        server = WSGIThreads(app, threads=threads, concurrency=1, hold=hold)

        async def request(path, gone):
            async def send(message):
                sent[path].append(message)

            await server({**_scope(), "path": path, disconnect.SCOPE_KEY: gone}, None, send)

        left = disconnect.Gone()
        one = asyncio.create_task(request("/slow/", disconnect.Gone()))
        await asyncio.sleep(0.05)
        two = asyncio.create_task(request("/left/", left))
        await asyncio.sleep(0.05)
        left.set()  # the client disconnects while its request waits
        gate.set()
        await asyncio.gather(one, two)

    asyncio.run(main())
    assert started == ["/slow/"]
    assert sent["/left/"] == [] and sent["/slow/"][0]["status"] == 200


def test_a_request_that_fails_gives_its_place_to_the_next():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/fails/":
            raise RuntimeError("the view failed")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _Body([b"ok"], streaming=False)

    async def main():
        server = WSGIThreads(app, threads=2, concurrency=1, hold=30.0)
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        with pytest.raises(RuntimeError, match="the view failed"):
            await server({**_scope(), "path": "/fails/"}, None, send)
        await asyncio.wait_for(server({**_scope(), "path": "/next/"}, None, send), 5)
        return sent

    sent = asyncio.run(main())
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [200]


def test_the_threads_run_calls_in_their_context_and_hand_back_results_and_errors():
    """Calls run on at most ``size`` threads, started as needed, each in the context of the
    task that awaited it; a result or an exception comes back to that task."""
    import contextvars

    who = contextvars.ContextVar("who")
    pool = Threads(2, "t")
    gate = threading.Event()
    names: list[str] = []

    def work(n: int) -> tuple[int, str]:
        names.append(threading.current_thread().name)
        gate.wait(5)
        if n == 3:
            raise ValueError("three")
        return n * 10, who.get()

    async def one(n: int):
        who.set(f"task {n}")
        return await pool.run(asyncio.get_running_loop(), work, n)

    async def main():
        tasks = [asyncio.create_task(one(n)) for n in range(5)]
        await asyncio.sleep(0.2)
        assert len(names) == 2  # two threads, both busy: the other calls wait
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert results[:3] == [(0, "task 0"), (10, "task 1"), (20, "task 2")]
    assert isinstance(results[3], ValueError) and str(results[3]) == "three"
    assert results[4] == (40, "task 4")
    assert set(names) == {"t_0", "t_1"}
    assert threading.main_thread().name not in names


def test_a_call_whose_task_was_cancelled_before_a_thread_took_it_is_not_run():
    pool = Threads(1, "t")
    gate = threading.Event()
    ran: list[str] = []

    def work(name: str) -> str:
        gate.wait(5)
        ran.append(name)
        return name

    async def main():
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(pool.run(loop, work, "first"))
        second = asyncio.ensure_future(pool.run(loop, work, "second"))
        await asyncio.sleep(0.1)
        second.cancel()  # still queued behind the first
        gate.set()
        assert await first == "first"
        third = await pool.run(loop, work, "third")
        return third

    assert asyncio.run(main()) == "third"
    assert ran == ["first", "third"]


_FINISH_AT_EXIT = """
import asyncio, sys, time
from pathlib import Path
from config.wsgi_threads import Threads

def work(marker):
    time.sleep(0.5)
    Path(marker).write_text("done")

async def main(marker):
    Threads(2, "t").run(asyncio.get_running_loop(), work, marker)
    await asyncio.sleep(0.05)  # the loop ends while the call runs

def serve(marker):
    asyncio.run(main(marker))

if __name__ == "__main__":
    if sys.argv[1] == "worker":  # as uvicorn runs its workers: a spawned process
        import multiprocessing
        child = multiprocessing.get_context("spawn").Process(target=serve, args=(sys.argv[2],))
        child.start()
        child.join(20)
        sys.exit(child.exitcode)
    serve(sys.argv[2])
"""


@pytest.mark.parametrize("where", ["process", "worker"])
def test_a_call_still_running_when_the_process_exits_is_finished_first(tmp_path, where):
    """A request running at shutdown completes (its database work is not cut off), in the
    server process and in a spawned worker process, as with ThreadPoolExecutor."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "finish_at_exit.py"
    script.write_text(_FINISH_AT_EXIT)
    marker = tmp_path / "marker"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(script), where, str(marker)],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "done"


def test_closed_threads_take_no_new_call():
    pool = Threads(1, "t")
    pool.close()

    async def main():
        with pytest.raises(RuntimeError, match="stopped"):
            pool.run(asyncio.get_running_loop(), print)

    asyncio.run(main())
