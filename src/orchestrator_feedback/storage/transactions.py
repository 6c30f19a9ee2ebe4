"""Where transactions begin and end: per-thread transactions over a backend, the read and
write paths every store method takes, and the listeners told once work is committed.
Backends only run SQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.storage.backends.base import StorageBackend
from orchestrator_feedback.storage.listeners import Events, Listeners
from orchestrator_feedback.storage.pending import PendingChanges

__all__ = ["Transactions"]

logger = logging.getLogger("orchestrator_feedback.storage")

Result = TypeVar("Result")


class _ThreadState(threading.local):
    """The transaction a thread is inside, if any."""

    connection: Any = None
    depth: int = 0
    pending: PendingChanges


class Transactions:
    """Runs the store's reads and writes on a backend, in the calling thread's transaction
    or in one of their own, and tells ``listeners`` of what was committed."""

    def __init__(self, backend: StorageBackend, listeners: Listeners) -> None:
        self.backend = backend
        self.listeners = listeners
        self._state = _ThreadState()

    def after_fork_in_child(self) -> None:
        """In a forked child: no transaction of the parent's thread, new connections."""
        self._state = _ThreadState()
        self.backend.after_fork_in_child()

    @property
    def connection(self) -> Any:
        """The connection of the calling thread's transaction, or None outside one."""
        return self._state.connection

    def add_pending(self, events: Events) -> None:
        """Events of work done in the calling thread's transaction, told at its commit."""
        self._state.pending.extend(events)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All calls in the block commit on exit, or roll back on an exception; nested
        blocks are savepoints (see ``FeedbackStorage.transaction``)."""
        state = self._state
        if state.connection is not None:
            yield from self._nested(state)
            return
        backend = self.backend
        backend.before_write()
        connection = backend.acquire()
        pending = PendingChanges()
        state.connection, state.depth, state.pending = connection, 1, pending
        try:
            backend.begin(connection)
            try:
                yield
                backend.commit(connection)
            except BaseException as error:
                backend.rollback(connection)
                pending.close()
                refusal = backend.write_refusal(error)
                if refusal is not None:
                    raise refusal from error
                raise
        finally:
            state.connection, state.depth = None, 0
            backend.release(connection)
        for part in pending.parts():  # a commit of many changes is told a part at a time
            self.listeners.notify(part)

    def _nested(self, state: _ThreadState) -> Iterator[None]:
        name = f"feedback_savepoint_{state.depth}"
        mark = len(state.pending)
        self.backend.savepoint(state.connection, name)
        state.depth += 1
        try:
            yield
        except BaseException:
            self.backend.rollback_to_savepoint(state.connection, name)
            state.pending.truncate(mark)
            raise
        else:
            self.backend.release_savepoint(state.connection, name)
        finally:
            state.depth -= 1

    def write(
        self, work: Callable[[Any], tuple[Result, Events]], *, one_statement: bool = False
    ) -> Result:
        """Run ``work(connection)`` in the thread's transaction, or in one of its own.

        ``one_statement``: the work is a single SQL statement, atomic on its own, so
        outside a transaction it runs without BEGIN/COMMIT (one round trip less).
        """
        state = self._state
        if state.connection is not None:
            # Inside a caller's transaction a failed call must undo its own part only
            # (create_many is all or nothing), and PostgreSQL would otherwise abort the
            # whole transaction: run it in a savepoint of its own.
            with self.transaction():
                result, events = work(state.connection)
                state.pending.extend(events)
            return result
        backend = self.backend
        backend.before_write()
        connection = backend.acquire()
        try:
            if one_statement:
                result, events = backend.alone(connection, work)
            else:
                backend.begin(connection)
                try:
                    result, events = work(connection)
                    backend.commit(connection)
                except BaseException:
                    backend.rollback(connection)
                    raise
        except Exception as error:
            refusal = backend.write_refusal(error)
            if refusal is not None:
                raise refusal from error
            if backend.is_disconnect(error):
                raise FeedbackError(
                    f"lost the connection to {backend.url} during a write, which may or may "
                    f"not have been committed: {error}"
                ) from error
            raise
        finally:
            backend.release(connection)
        if events:
            self.listeners.notify(events)
        return result

    def read(self, work: Callable[[Any], Result]) -> Result:
        """Run ``work(connection)`` on the thread's transaction, or a pooled connection."""
        connection = self._state.connection
        if connection is not None:
            return work(connection)
        backend = self.backend
        for attempt in (1, 2):
            connection = backend.acquire()
            try:
                return work(connection)
            except Exception as error:
                # A server restart breaks pooled connections; a read is safe to retry once.
                if attempt == 2 or not backend.is_disconnect(error):
                    raise
                logger.warning("lost the connection to %s; retrying the read once", backend.url)
                backend.recover_from_disconnect()
            finally:
                backend.release(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def iterate(self, work: Callable[[Any], Iterator[Result]]) -> Iterator[Result]:
        """Yield from ``work(connection)`` on the thread's transaction, or on a pooled
        connection held until the iteration ends."""
        connection = self._state.connection
        if connection is not None:
            yield from work(connection)
            return
        connection = self.backend.acquire()
        try:
            yield from work(connection)
        finally:
            self.backend.release(connection)
