"""Tell a streamed response that its client has gone.

HTTP runs through Django's WSGI handler on a thread pool (config/asgi.py). Once the request
body has been read, nothing listens to the connection, and the server drops what a response
sends after the client left: a long CSV download whose client went away would be produced to
the end. ``RequestBodyLimit`` (config/request_limits.py), which reads every body before Django
runs, then listens with :func:`watch` and puts the event in the request's scope;
``client_gone(request)`` reads it, and streamed bodies check it between chunks and stop.
"""

from __future__ import annotations

SCOPE_KEY = "tradepulse.client_gone"


class Gone:
    """Whether a request's client has gone: set on the event loop, read by the thread that
    runs the request. Nothing waits on it, so it is a plain flag (a ``threading.Event`` costs a
    lock and a condition for each request)."""

    __slots__ = ("_gone",)

    def __init__(self) -> None:
        self._gone = False

    def set(self) -> None:
        self._gone = True

    def is_set(self) -> bool:
        return self._gone


async def watch(receive, gone: Gone) -> None:
    """Set ``gone`` when the client disconnects (``receive`` is past the request body)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


def client_gone(request) -> bool:
    """Whether the client of ``request`` has disconnected (False when nobody watches)."""
    scope = request.META.get("asgi.scope") or {}
    event = scope.get(SCOPE_KEY)
    return event is not None and event.is_set()
