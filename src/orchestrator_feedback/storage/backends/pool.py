"""A small thread-safe pool of DB-API connections, created on demand up to a size."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from orchestrator_feedback.errors import PoolTimeoutError, StorageClosedError

__all__ = ["ConnectionPool"]

Connection = TypeVar("Connection")


class ConnectionPool(Generic[Connection]):
    """Hands out at most ``size`` connections; a caller waits ``timeout`` seconds for one."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        disconnect: Callable[[Connection], None],
        size: int,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._disconnect = disconnect
        self._size = size
        self._timeout = timeout
        # Last in, first out: a thread that works alone keeps getting the connection it
        # used last, whose page and statement caches are warm. First in, first out would
        # hand it every idle connection in turn once a second thread (following, scores,
        # alerts) made a second one, each SQLite connection's cache stale from the
        # others' commits: a third more time per create.
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._all: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def size(self) -> int:
        """The most connections this pool opens."""
        return self._size

    def acquire(self) -> Connection:
        """Return an idle connection, a new one while below ``size``, or wait for one."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise StorageClosedError("the storage is closed")
            if len(self._all) < self._size:
                connection = self._connect()
                self._all.append(connection)
                return connection
        try:
            return self._idle.get(timeout=self._timeout)
        except queue.Empty:
            raise PoolTimeoutError(
                f"no database connection became free within {self._timeout} s "
                f"(all {self._size} are in use; raise pool_size or timeout)"
            ) from None

    def release(self, connection: Connection) -> None:
        """Give ``connection`` back; after ``close()`` it is closed instead."""
        if self._closed:
            self._disconnect(connection)
        else:
            self._idle.put(connection)

    def close(self) -> None:
        """Close every connection that is idle now; busy ones close when released."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    self._disconnect(self._idle.get_nowait())
                except queue.Empty:
                    break
