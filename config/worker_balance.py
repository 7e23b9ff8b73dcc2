"""HTTP load spread evenly over the web worker processes of one address.

uvicorn's worker processes accept from one shared socket, and whichever wakes first takes a
new connection: a burst of connections can land unevenly (wrk's 16 were seen split 14 and 2,
bench/results/http-balance.md), and a keep-alive connection stays where it landed. The
worker holding more then keeps more requests waiting while the other has time to spare.

Each worker publishes its HTTP load, the requests waiting for or holding a place
(config/wsgi_threads.py) averaged over the last ``TAU`` seconds, in a table shared by the
workers of one server: a small file named after the user and their parent process (removed by
the next server to start once that process has gone), one row per worker, claimed with a
POSIX record lock that the kernel drops when the worker dies. A worker whose load exceeds its
least busy live peer's by ``THRESHOLD`` or more answers one response with ``Connection:
close``; the client sends its next request on a new connection, which any worker may accept,
until the loads are even. It sheds at most one connection every ``QUIET`` seconds. The load,
not the count of connections, is evened: on a machine busy with other work, the worker that
gets less CPU keeps fewer clients. WebSockets are neither counted nor moved.

Only a worker spawned by a multiprocessing supervisor (``uvicorn --workers N``) takes part; a
single process has no peers and never closes a connection for this. If the table cannot be
set up (no writable shared-memory folder, more than ``SLOTS`` workers), the worker serves
without it and says so in the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import math
import mmap
import multiprocessing
import os
import struct
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: One worker's row: pid, the time of its last change (monotonic seconds), its load since then,
#: and its average load at that time.
ROW = struct.Struct("<qdqd")
SLOTS = 64
#: Seconds over which the load is averaged.
TAU = 0.1
#: How much more load than the least busy peer makes a worker shed a connection.
THRESHOLD = 2.0
#: Seconds between two sheds of one worker: at most 10 reconnects a second, however long an
#: imbalance that cannot be evened lasts (a stuck peer, say).
QUIET = 0.1
#: Seconds between checks of which peers are alive.
LIVENESS_EVERY = 1.0
PREFIX = "tradepulse-web-"


def table_folder() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def _start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot): with the pid, names one process even
    across pid namespaces that share the folder."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def table_path(folder: Path, parent: int) -> Path:
    return folder / f"{PREFIX}{os.geteuid()}-{parent}-{_start_time(parent)}"


@functools.cache
def for_worker() -> Balance | None:
    """This process's row in its server's table (one per process), or None outside a
    multi-worker server or when the table cannot be set up."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    folder = table_folder()
    try:
        remove_orphans(folder)
        balance = Balance(table_path(folder, parent.pid))
    except (OSError, RuntimeError) as exc:
        logger.warning("web workers are not balanced: %s", exc)
        return None
    return balance


def remove_orphans(folder: Path) -> None:
    """This user's tables of servers whose parent process has gone."""
    for path in folder.glob(f"{PREFIX}{os.geteuid()}-*"):
        try:
            parent = int(path.name.split("-")[3])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()
        except PermissionError:
            continue


def _average(since: float, load: int, average: float, now: float) -> float:
    """The time-weighted average at ``now`` of a load that has been ``load`` since ``since``,
    when its average was ``average``."""
    return load + (average - load) * math.exp(min(0.0, since - now) / TAU)


class Balance:
    """One worker's row in the table. ``started()``, ``finished()`` and ``should_shed()`` are
    called on the event loop."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            stat = os.fstat(self._fd)
            if stat.st_uid != os.geteuid():
                raise RuntimeError(f"{path} belongs to another user")
            size = ROW.size * SLOTS
            if stat.st_size < size:
                # Allocated now, so that a full folder is an error here, not a SIGBUS later.
                os.posix_fallocate(self._fd, 0, size)
            self._table = mmap.mmap(self._fd, size)
            self.slot = self._claim()
        except BaseException:
            os.close(self._fd)
            raise
        self.path = path
        self._pid = os.getpid()
        self._load = 0
        self._average = 0.0
        self._since = time.monotonic()
        self._quiet_until = 0.0
        self._peers: list[int] = []
        self._peers_checked = -math.inf
        self._publish()

    def _lock(self, index: int, command: int) -> None:
        fcntl.lockf(self._fd, command, ROW.size, index * ROW.size)

    def _claim(self) -> int:
        for index in range(SLOTS):
            try:
                self._lock(index, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            return index
        raise RuntimeError(f"more than {SLOTS} web workers share one table")

    def _publish(self) -> None:
        start = self.slot * ROW.size
        self._table[start : start + ROW.size] = ROW.pack(
            self._pid, self._since, self._load, self._average
        )

    def _row(self, index: int) -> tuple[int, float, int, float]:
        """A peer's row, read until two reads agree (it may be writing it)."""
        start = index * ROW.size
        row = self._table[start : start + ROW.size]
        for _ in range(3):
            again = self._table[start : start + ROW.size]
            if again == row:
                break
            row = again
        return ROW.unpack(row)

    def _change(self, step: int) -> None:
        now = time.monotonic()
        self._average = _average(self._since, self._load, self._average, now)
        self._since = now
        self._load += step
        self._publish()

    def started(self) -> None:
        """A request arrived (it waits for a place)."""
        self._change(1)

    def finished(self) -> None:
        """A request gave its place up: it finished, started streaming or ran long."""
        self._change(-1)

    def should_shed(self) -> bool:
        """Whether the response being sent should close its connection."""
        now = time.monotonic()
        if now < self._quiet_until:
            return False
        if now - self._peers_checked > LIVENESS_EVERY:
            self._peers = self._live_peers()
            self._peers_checked = now
        if not self._peers:
            return False
        least = min(_average(*self._row(index)[1:], now) for index in self._peers)
        gap = _average(self._since, self._load, self._average, now) - least
        if gap < THRESHOLD:
            return False
        self._quiet_until = now + QUIET
        return True

    def _live_peers(self) -> list[int]:
        """Rows whose lock is held by another process."""
        live = []
        for index in range(SLOTS):
            if index == self.slot or self._row(index)[0] == 0:
                continue
            try:
                self._lock(index, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                live.append(index)  # held: its worker is running
            else:
                self._lock(index, fcntl.LOCK_UN)
        return live

    def close(self) -> None:
        self._table.close()
        os.close(self._fd)
