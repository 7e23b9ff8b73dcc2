"""Django's WSGI handler on a pool of threads, one hand-off per request.

The event loop reads the request body (config/request_limits.py), then hands the whole request
to a thread: signals, middleware, view and response. A response held in memory (Django's
``HttpResponse``, every API and page response) comes back to the loop in one piece, with its
status and headers, and is sent from there: one hand-off each way. A streamed response (CSV
downloads, static files) is iterated on its thread, which keeps its database cursor, and each
chunk waits until the loop has sent it, so a slow client slows the producer instead of
filling memory.

a2wsgi's bridge, used before, handed over every ``start_response``, body chunk and read of
the body as a coroutine of its own: five or more round trips between a thread and the loop
per request, about a quarter of the served process's CPU under wrk (BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import weakref
from contextlib import suppress
from typing import Any

from a2wsgi.wsgi import build_environ

from config import disconnect
from config.worker_balance import Balance

#: The scope key under which RequestBodyLimit leaves the request body (a file positioned at 0).
BODY_KEY = "tradepulse.body"


class WSGIThreads:
    """ASGI application running a WSGI application on ``threads`` threads (HTTP only).

    At most ``concurrency`` requests start running at once; the others wait on the event loop,
    in arrival order, without taking a thread. Requests that run together share one
    interpreter lock: with 16 busy threads each request's time was spread over the whole
    burst, and the loop itself waited for the lock to send responses; admitting a few at a
    time finishes each sooner (BENCHMARKS.md, "The ledger over real HTTP"). A request gives
    its place up when it starts streaming (a download waits for its client) or after
    ``hold`` seconds (one waiting for the database, a Lambda or a lock), so slow requests never
    queue the rest behind them for longer than that; the threads still bound the total.

    With ``balance`` (one of several worker processes on one address), a request counts in
    this worker's load from its arrival until it gives its place up, and a response held in
    memory may close its keep-alive connection so that clients move to a less busy worker
    (config/worker_balance.py).
    """

    def __init__(
        self,
        app,
        threads: int,
        concurrency: int | None = None,
        hold: float = 0.05,
        balance: Balance | None = None,
    ):
        self.app = app
        self.balance = balance
        self.threads = Threads(threads, "http")
        self.concurrency = min(concurrency or threads, threads)
        self.hold = hold
        self._places: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send) -> None:
        status, headers, body = await self._run(scope, send)
        if body is None:
            return
        if self.balance is not None and _may_shed(scope) and self.balance.should_shed():
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _run(self, scope, send) -> tuple[int | None, list, bytes | None]:
        environ = build_environ(scope, scope[BODY_KEY])
        loop = asyncio.get_running_loop()
        places = self._places
        if places is None or self._loop is not loop:  # one loop per server; tests run several
            places = asyncio.Semaphore(self.concurrency)
            self._places, self._loop = places, loop
        balance = self.balance
        if balance is not None:
            balance.started()
        try:
            await places.acquire()
        except BaseException:  # cancelled while waiting: the client left
            if balance is not None:
                balance.finished()
            raise
        held = True

        def give_up_place() -> None:  # on the loop, once
            nonlocal held
            if held:
                held = False
                places.release()
                if balance is not None:
                    balance.finished()

        timer = loop.call_later(self.hold, give_up_place)
        try:
            return await self.threads.run(
                loop,
                self._respond,
                environ,
                loop,
                send,
                give_up_place,
                scope.get(disconnect.SCOPE_KEY),
            )
        finally:
            timer.cancel()
            give_up_place()

    def _respond(
        self, environ, loop, send, give_up_place, gone
    ) -> tuple[int | None, list, bytes | None]:
        """Run the application (on a pool thread). A body held in memory is returned to be
        sent by the loop; a streamed one is sent from here, and None returned for it. A
        request whose client has left while it waited (for a place or a thread) is not run,
        and nothing is sent.
        """
        if gone is not None and gone.is_set():
            return None, [], None
        started: list[Any] = []

        def start_response(status, response_headers, exc_info=None):
            # Nothing is sent before the application returns, so a later call (with the
            # exc_info of an error) simply replaces the status and headers.
            started[:] = [
                int(status.split(" ", 1)[0]),
                [
                    (k.strip().lower().encode("latin1"), v.encode("latin1"))
                    for k, v in response_headers
                ],
            ]
            return _no_write

        iterable = self.app(environ, start_response)
        try:
            if not getattr(iterable, "streaming", True):
                return started[0], started[1], b"".join(iterable)

            loop.call_soon_threadsafe(give_up_place)

            def deliver(message) -> None:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            deliver({"type": "http.response.start", "status": started[0], "headers": started[1]})
            for chunk in iterable:
                if chunk:
                    deliver({"type": "http.response.body", "body": chunk, "more_body": True})
            deliver({"type": "http.response.body", "body": b""})
            return started[0], started[1], None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # request_finished: this thread's database connections go back


class Threads:
    """Up to ``size`` threads running calls from one queue, started as they are needed.

    :meth:`run` awaits a call's result on the event loop. Unlike ``loop.run_in_executor``,
    there is no ``concurrent.futures.Future`` (with its lock and condition) chained to an
    asyncio one: the thread hands the result straight to the loop, one
    ``call_soon_threadsafe`` per call. A call whose awaiting task was cancelled before a
    thread took it is not run.

    As ``ThreadPoolExecutor``'s, the threads finish the calls they have when the interpreter
    exits (a worker process included) and are joined: a request still running at shutdown
    completes its database work instead of being cut off.
    """

    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._started: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        # The hook concurrent.futures uses: it runs when the interpreter starts to exit, before
        # the threads are joined (atexit handlers run after, and not in a worker process).
        pool = weakref.ref(self)
        threading._register_atexit(lambda: (found := pool()) is not None and found.close())  # type: ignore[attr-defined]

    def close(self) -> None:
        """Let each thread finish the calls queued so far, then stop; no new call is taken."""
        with self._lock:
            self._closed = True
            for _ in self._started:
                self._jobs.put(None)

    def run(self, loop: asyncio.AbstractEventLoop, fn, *args) -> asyncio.Future:
        if self._closed:
            raise RuntimeError("the request threads have stopped (the interpreter is exiting)")
        future = loop.create_future()
        self._jobs.put((future, loop, contextvars.copy_context(), fn, args))
        if not self._idle.acquire(blocking=False):
            self._start_one()
        return future

    def _start_one(self) -> None:
        with self._lock:
            if len(self._started) < self.size and not self._closed:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}_{len(self._started)}"
                )
                thread.start()
                self._started.append(thread)

    def _work(self) -> None:
        jobs, idle = self._jobs, self._idle
        while (job := jobs.get()) is not None:
            _run_job(*job)
            del job
            idle.release()


def _run_job(future: asyncio.Future, loop, context, fn, args) -> None:
    if future.cancelled():
        return
    settle: Any = _succeed
    try:
        outcome = context.run(fn, *args)
    except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
        settle, outcome = _fail, exc
    with suppress(RuntimeError):  # the loop has closed: nobody awaits the result
        loop.call_soon_threadsafe(settle, future, outcome)


def _succeed(future: asyncio.Future, result) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)


def _may_shed(scope) -> bool:
    """A response that keeps its connection open unless told: HTTP/1.1, and the client did
    not ask to close it."""
    if scope.get("http_version") == "1.0":
        return False
    return not any(
        name == b"connection" and b"close" in value.lower() for name, value in scope["headers"]
    )


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() of start_response is not supported; return an iterable")
