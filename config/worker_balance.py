"""Requests spread evenly over the web worker processes of one address.

uvicorn's worker processes accept from one shared socket, and whichever wakes first takes a
new connection: a burst of connections can land unevenly (wrk's 16 were seen split 14 and 2),
and a keep-alive connection stays where it landed. The worker holding more then keeps more
requests waiting while the other has time to spare (BENCHMARKS.md, "The ledger over real
HTTP").

Each worker publishes how many requests it has in flight (running or waiting for a place),
averaged over the last ``TAU`` seconds, in a table shared by the workers of one server: a small
file named after their parent process, one slot per worker, claimed with a POSIX record lock
that the kernel drops when the worker dies. A worker with at least ``THRESHOLD`` more requests
in flight than its least busy live peer answers one response with ``Connection: close`` (at
most one every ``QUIET`` seconds). The client sends its next request on a new connection, which
the idler worker is at least as likely to accept, until the load is even: least-connections
balancing, as nginx and HAProxy do it, without a proxy in front.

Only a worker started by a multiprocessing supervisor (``uvicorn --workers N`` with N > 1) takes
part; a single process has no peers and never closes a connection for this.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import mmap
import multiprocessing
import os
import struct
import tempfile
import time
from pathlib import Path

#: One worker's row: pid, the time of its last change (monotonic seconds), requests in flight
#: since then, and the average at that time.
ROW = struct.Struct("<qdqd")
SLOTS = 64
#: Seconds over which the number in flight is averaged.
TAU = 0.1
#: How many more requests in flight than the least busy peer make a worker shed a connection.
THRESHOLD = 2.0
#: Seconds after shedding one connection before a worker sheds another.
QUIET = 0.1
#: Seconds between checks of which peers are alive.
LIVENESS_EVERY = 1.0
PREFIX = "tradepulse-web-"


def table_folder() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() else Path(tempfile.gettempdir())


def for_worker() -> Balance | None:
    """This process's place in its server's table, or None outside a multi-worker server."""
    if multiprocessing.parent_process() is None:
        return None
    folder = table_folder()
    _remove_orphans(folder)
    return Balance(folder / f"{PREFIX}{os.getppid()}")


def _remove_orphans(folder: Path) -> None:
    """Tables of servers whose parent process has gone."""
    for path in folder.glob(f"{PREFIX}*"):
        try:
            os.kill(int(path.name.removeprefix(PREFIX)), 0)
        except ValueError:
            continue
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()
        except PermissionError:
            continue


def _average(since: float, in_flight: int, average: float, now: float) -> float:
    """The time-weighted average at ``now`` of a count that has been ``in_flight`` since
    ``since``, when it was ``average``."""
    return in_flight + (average - in_flight) * math.exp((since - now) / TAU)


class Balance:
    """One worker's slot in the table. ``started()`` and ``finished()`` are called on the
    event loop, around every HTTP request; ``finished()`` says whether to close its
    connection."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = ROW.size * SLOTS
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._table = mmap.mmap(self._fd, size)
        self.slot = self._claim()
        self._pid = os.getpid()
        self._in_flight = 0
        self._average = 0.0
        self._since = time.monotonic()
        self._quiet_until = 0.0
        self._peers: list[int] = []
        self._peers_checked = -math.inf
        self._publish()

    def _claim(self) -> int:
        for index in range(SLOTS):
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, ROW.size, index * ROW.size)
            except OSError:
                continue
            return index
        raise RuntimeError(f"more than {SLOTS} web workers share one table")

    def _publish(self) -> None:
        ROW.pack_into(
            self._table,
            self.slot * ROW.size,
            self._pid,
            self._since,
            self._in_flight,
            self._average,
        )

    def _change(self, step: int) -> None:
        now = time.monotonic()
        self._average = _average(self._since, self._in_flight, self._average, now)
        self._since = now
        self._in_flight += step
        self._publish()

    def started(self) -> None:
        self._change(1)

    def finished(self) -> bool:
        """Count the request out; True when this worker should shed the request's connection."""
        self._change(-1)
        now = self._since
        if now < self._quiet_until:
            return False
        if now - self._peers_checked > LIVENESS_EVERY:
            self._peers = self._live_peers()
            self._peers_checked = now
        if not self._peers:
            return False
        least = min(
            _average(*ROW.unpack_from(self._table, index * ROW.size)[1:], now)
            for index in self._peers
        )
        if self._average - least < THRESHOLD:
            return False
        self._quiet_until = now + QUIET
        return True

    def _live_peers(self) -> list[int]:
        """Slots whose lock is held by another process."""
        live = []
        for index in range(SLOTS):
            if index == self.slot or ROW.unpack_from(self._table, index * ROW.size)[0] == 0:
                continue
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, ROW.size, index * ROW.size)
            except OSError:
                live.append(index)  # held: its worker is running
            else:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, ROW.size, index * ROW.size)
        return live

    def close(self) -> None:
        self._table.close()
        os.close(self._fd)
