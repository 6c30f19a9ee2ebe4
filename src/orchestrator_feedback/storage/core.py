"""The heart of ``FeedbackStorage``: per-thread transactions, committed-change listeners,
and the read/write paths every method takes. Backends only run SQL; this decides where
transactions begin and end, and tells listeners once work is committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self, TypeVar, overload

from orchestrator_feedback.errors import (
    FeedbackError,
    FeedbackValidationError,
    reaches_the_host,
)
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.privacy import PrivacyPolicy
from orchestrator_feedback.storage.base import FeedbackChange, FeedbackFilter, StorageBackend

__all__ = [
    "BatchListener",
    "ChangeListener",
    "Events",
    "RecordedEvents",
    "StoreCore",
    "check_entry",
    "check_id",
]

logger = logging.getLogger("orchestrator_feedback.storage")

ChangeListener = Callable[[FeedbackChange, FeedbackEntry], None]
"""Called as ``listener(change, entry)`` once the change is committed."""
BatchListener = Callable[[Sequence[tuple[FeedbackChange, FeedbackEntry]]], None]
"""Called as ``listener(changes)`` once per commit, with its ``(change, entry)`` pairs."""

Result = TypeVar("Result")
Event = tuple[FeedbackChange, FeedbackEntry]
Events = Sequence[Event]


class RecordedEvents(Sequence[Event]):
    """The ``(RECORDED, entry)`` events of new entries, each pair made as it is read.

    A group of 10,000 entries as a list of pairs would be 10,000 more objects for the
    garbage collector to walk while the listeners run.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Sequence[FeedbackEntry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [(FeedbackChange.RECORDED, entry) for entry in self._entries[index]]
        return (FeedbackChange.RECORDED, self._entries[index])

    def __iter__(self) -> Iterator[Event]:
        recorded = FeedbackChange.RECORDED
        for entry in self._entries:
            yield recorded, entry


class _ThreadState(threading.local):
    """The transaction a thread is inside, if any."""

    connection: Any = None
    depth: int = 0
    pending: list[Event]


def check_entry(entry: object) -> FeedbackEntry:
    if type(entry) is not FeedbackEntry:
        raise FeedbackValidationError("entry", entry, "must be a FeedbackEntry")
    return entry


def check_id(feedback_id: object) -> str:
    if type(feedback_id) is not str:
        raise FeedbackValidationError("id", feedback_id, "must be a string")
    return feedback_id


class StoreCore:
    """Transactions, listeners and the privacy policy, shared by all storage methods."""

    _backend: StorageBackend
    _listeners: list[ChangeListener]
    _batch_listeners: list[BatchListener]
    _state: _ThreadState
    _privacy: PrivacyPolicy | None
    _history: bool

    def close(self) -> None:
        """Close the store (``FeedbackStorage.close`` flushes first)."""
        self._backend.close()

    def _after_fork_in_child(self) -> None:
        """In a forked child: no transaction of the parent's thread, new connections."""
        self._state = _ThreadState()
        self._backend.after_fork_in_child()

    @property
    def backend(self) -> StorageBackend:
        """The backend holding the data."""
        return self._backend

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return self._backend.schema_version

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_listener(self, listener: Callable[..., None], *, batched: bool = False) -> None:
        """Call ``listener(change, entry)`` after every committed change from now on.

        ``batched=True``: call ``listener(changes)`` once per commit instead, with the
        commit's ``(change, entry)`` pairs as a sequence (``list(changes)`` copies it);
        cheaper when a commit holds thousands.
        """
        (self._batch_listeners if batched else self._listeners).append(listener)

    def remove_listener(self, listener: Callable[..., None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._batch_listeners:
            self._batch_listeners.remove(listener)
        else:
            self._listeners.remove(listener)

    @property
    def _listening(self) -> bool:
        """Whether any listener wants to hear of changes."""
        return bool(self._listeners or self._batch_listeners)

    # -- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Group calls: all commit on exit, all roll back on an exception.

        Nestable: an inner block is a savepoint, undone alone if it raises. Inside the
        block every call from this thread uses the same connection; other threads see
        nothing until the outermost block commits. Listeners hear of the changes then.
        """
        state = self._state
        if state.connection is not None:
            yield from self._nested_transaction(state)
            return
        backend = self._backend
        backend.before_write()
        connection = backend.acquire()
        state.connection, state.depth, state.pending = connection, 1, []
        try:
            backend.begin(connection)
            try:
                yield self
                backend.commit(connection)
            except BaseException as error:
                backend.rollback(connection)
                refusal = backend.write_refusal(error)
                if refusal is not None:
                    raise refusal from error
                raise
            events = state.pending
        finally:
            state.connection, state.depth, state.pending = None, 0, []
            backend.release(connection)
        self._notify(events)

    def _nested_transaction(self, state: _ThreadState) -> Iterator[Self]:
        name = f"feedback_savepoint_{state.depth}"
        mark = len(state.pending)
        self._backend.savepoint(state.connection, name)
        state.depth += 1
        try:
            yield self
        except BaseException:
            self._backend.rollback_to_savepoint(state.connection, name)
            del state.pending[mark:]
            raise
        else:
            self._backend.release_savepoint(state.connection, name)
        finally:
            state.depth -= 1

    def _write(
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
        backend = self._backend
        backend.before_write()
        connection = backend.acquire()
        try:
            if one_statement:
                result, events = work(connection)
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
            self._notify(events)
        return result

    def _read(self, work: Callable[[Any], Result]) -> Result:
        """Run ``work(connection)`` on the thread's transaction, or a pooled connection."""
        connection = self._state.connection
        if connection is not None:
            return work(connection)
        backend = self._backend
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

    def _notify(self, events: Events) -> None:
        """Tell every listener of committed ``events``. A listener's error (any, as
        ``reaches_the_host`` says) is logged and the others are still told; a Ctrl-C is
        raised once they all have been."""
        interrupted: BaseException | None = None
        for batch_listener in self._batch_listeners:
            try:
                batch_listener(events)
            except BaseException as error:
                if reaches_the_host(error):
                    interrupted = error
                    continue
                logger.exception("feedback listener %r failed", batch_listener)
        for listener in self._listeners:
            for change, entry in events:
                try:
                    listener(change, entry)
                except BaseException as error:
                    if reaches_the_host(error):
                        interrupted = error
                        continue
                    logger.exception(
                        "feedback listener %r failed on %s of %s", listener, change.value, entry.id
                    )
        if interrupted is not None:
            raise interrupted

    def _filter(self, **filters: Any) -> FeedbackFilter:
        """A ``FeedbackFilter``; a user id is turned into its stored (pseudonymous) form."""
        user_id = filters.get("user_id")
        if user_id is not None and self._privacy is not None:
            if type(user_id) is not str:
                raise FeedbackValidationError("user_id", user_id, "must be a string")
            filters["user_id"] = self._privacy.pseudonym(user_id)
        return FeedbackFilter(**filters)

    def _reveal(self, entries: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """Decrypt what the privacy policy encrypted, on entries read back."""
        return entries if self._privacy is None else self._privacy.reveal(entries)
