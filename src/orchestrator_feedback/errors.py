"""The exception hierarchy: every error this library raises on purpose."""

from __future__ import annotations

import threading
from typing import Any

_MAX_VALUE_REPR = 80


def reaches_the_host(error: BaseException) -> bool:
    """Whether an error raised inside a plugin or a listener must still reach the host.

    Only a ``KeyboardInterrupt`` on the main thread does: that is someone pressing Ctrl-C,
    and a plugin must not swallow it. Every other error, ``SystemExit`` and
    ``asyncio.CancelledError`` included, is the plugin's own failure: it is logged and
    counted, and the host (or the background writer thread) goes on. A
    ``KeyboardInterrupt`` raised on another thread cannot come from Ctrl-C (Python
    delivers signals to the main thread only), so it counts as a failure too.
    """
    return isinstance(error, KeyboardInterrupt) and (
        threading.current_thread() is threading.main_thread()
    )


def describe_value(value: Any) -> str:
    """Return a short ``repr`` of ``value`` for an error message (long values are cut)."""
    try:
        text = repr(value)
    except Exception:  # a caller's object whose __repr__ fails must not hide our message
        text = f"<a {type(value).__name__} whose repr() fails>"
    if len(text) > _MAX_VALUE_REPR:
        text = f"{text[:_MAX_VALUE_REPR]}... ({len(text)} characters)"
    return text


class FeedbackError(Exception):
    """Base class of every error raised by orchestrator-feedback."""


class FeedbackValidationError(FeedbackError, ValueError):
    """A value broke a rule: ``field`` names where, ``value`` what, ``rule`` what is allowed.

    Raised before anything is written, so nothing already stored changes.
    """

    def __init__(self, field: str, value: Any, rule: str, *, location: str | None = None) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        self.location = location
        where = f"{location}: " if location else ""
        super().__init__(f"{where}{field}: {rule} (got {describe_value(value)})")


class FeedbackNotFoundError(FeedbackError, LookupError):
    """No feedback with the given id exists."""

    def __init__(self, feedback_id: str) -> None:
        self.feedback_id = feedback_id
        super().__init__(f"no feedback with id {feedback_id!r}")


class DuplicateFeedbackError(FeedbackError):
    """Feedback with this id is already stored."""

    def __init__(
        self, feedback_id: str, *, location: str | None = None, position: int | None = None
    ) -> None:
        self.feedback_id = feedback_id
        self.location = location
        self.position = position
        """Index of the clashing entry in the batch that was being inserted, if known."""
        where = f"{location}: " if location else ""
        super().__init__(f"{where}feedback with id {feedback_id!r} already exists")


class StorageClosedError(FeedbackError):
    """The storage was closed; open a new ``FeedbackStorage`` to keep working."""


class SchemaVersionError(FeedbackError):
    """The database's schema is newer than this version of orchestrator-feedback knows."""


class SchemaUpgradeNeeded(SchemaVersionError):
    """The database's schema is older than this version uses, and the store was opened with
    ``migrate=False`` (as the command line opens it): nothing was changed. ``found`` is its
    version, ``wanted`` this version's."""

    def __init__(self, where: str, found: int, wanted: int) -> None:
        self.where = where
        self.found = found
        self.wanted = wanted
        super().__init__(
            f"{where} is at schema version {found}; this orchestrator-feedback uses version "
            f"{wanted}: run `orchestrator-feedback migrate` (it backs the store up first; "
            "`migrate --check` says what would change). Nothing was changed"
        )


class PoolTimeoutError(FeedbackError, TimeoutError):
    """No pooled connection became free within the storage's ``timeout``."""


class ImportFormatError(FeedbackError, ValueError):
    """An import file is not valid JSON / JSON Lines at the named line or index."""


class FeedbackRejected(FeedbackError):
    """Raised by a ``feedback_prepare`` implementation to drop an entry before it is stored.

    The rejection is logged and counted; it never reaches the host.
    """


class PluginLoadError(FeedbackError):
    """A plugin could not be loaded or registered (raised only with ``strict = true``)."""


class QueryRefusedError(FeedbackError):
    """``execute_query`` refused a statement (it would write in a read-only query, end or
    open a transaction, attach a file, change a connection setting), or stopped it at its
    time limit or row cap. Nothing was changed."""


class FeedbackNotStoredError(FeedbackError):
    """A sync hook call's entry was not stored: the store refused the write (a full disk, a
    database locked past the timeout, a lost connection). Nothing of it was committed.
    Raised from the hook call only with ``on_not_stored = "raise"``; otherwise logged, counted
    in ``not_stored``, and the hook's result holds no entry."""


class ForeignRowError(FeedbackError):
    """The store holds a row that is not a valid entry: written behind its back (by SQL of
    someone's own), so no rule of ours checked it. The message names the row and what is
    wrong with it."""

    def __init__(self, which: str, problem: str) -> None:
        self.which = which
        super().__init__(
            f"the store holds a row written behind its back that is not a valid entry "
            f"({which}: {problem}): fix or delete it with `orchestrator-feedback query --write`"
        )


class StorageFullError(FeedbackError):
    """The disk (or the database's space) is full: nothing of the write was stored, and the
    store works again once there is room."""
