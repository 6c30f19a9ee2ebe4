"""The SQLite database file itself: naming it from a URL, creating it privately, opening it
read-only, telling whether it is writable or still the file that was opened, and saying
clearly why it cannot be opened."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from orchestrator_feedback.errors import FeedbackError

__all__ = [
    "begin_immediate",
    "cannot_open",
    "connect_read_only",
    "connect_writer",
    "create_private_file",
    "disk_is_full",
    "file_identity",
    "names_no_file",
    "patiently",
    "sqlite_path_from_url",
    "when_unlocked",
    "writable",
]

Result = TypeVar("Result")


def _sqlite_path(url: str) -> str:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        return path[1:] if path.startswith("/") else path
    return url


def names_no_file(url: str) -> bool:
    """Whether a path or ``sqlite://`` URL is empty: SQLite would open a temporary database
    that is gone when the connection closes, and everything "stored" there would be lost
    without a word. ``:memory:`` has to be asked for by name."""
    return not _sqlite_path(url.strip()).strip()


def sqlite_path_from_url(url: str) -> str:
    """Return the file path (or ":memory:") named by a path or a ``sqlite:///`` URL; an
    empty one is refused (``names_no_file``)."""
    if names_no_file(url):
        raise FeedbackError(
            f"the database {url!r} names no file: give a path such as feedback.db or "
            "sqlite:///feedback.db (':memory:' for a database that lives only while the "
            "process runs)"
        )
    return _sqlite_path(url)


def cannot_open(path: str, error: sqlite3.DatabaseError) -> FeedbackError:
    """What a failure to open the file means, naming it and what to do."""
    text = str(error)
    if "not a database" in text:
        return FeedbackError(
            f"{path} is not an SQLite database (or it is encrypted or damaged): give "
            "the path of a feedback database, or a new file name to create one"
        )
    if "unable to open" in text:
        return FeedbackError(
            f"cannot open {path}: {text} (check that its folder exists and that you "
            "may read it, and write it to create the file)"
        )
    return FeedbackError(f"cannot open {path}: {text}")


def connect_writer(path: str, timeout: float, synchronous: str, *, wal: bool) -> sqlite3.Connection:
    """A connection for the store's pool: WAL (``wal``: a file, not ``:memory:``), the
    ``synchronous`` level, zeroed deleted rows, and recursive triggers."""
    connection = sqlite3.connect(
        path,
        timeout=timeout,
        isolation_level=None,  # the backend issues BEGIN IMMEDIATE / COMMIT itself
        check_same_thread=False,  # the pool hands connections between threads
        cached_statements=256,
    )
    if wal:
        _use_wal(connection, timeout)
    connection.execute(f"PRAGMA synchronous={synchronous}")
    # Deleted rows are overwritten with zeros, so a forgotten user leaves no bytes behind.
    connection.execute("PRAGMA secure_delete = ON")
    # An INSERT OR REPLACE (a user's own SQL) then fires the delete trigger that keeps
    # the rollups true for the row it replaces.
    connection.execute("PRAGMA recursive_triggers = ON")
    # The write lock is waited for by ``when_unlocked``, a short busy handler at a time; a
    # read meets a lock only briefly (another process switching a new file to WAL).
    connection.execute(f"PRAGMA busy_timeout = {_HANDLER_MS}")
    return connection


_HANDLER_MS = 100
"""How long SQLite's busy handler waits at a time on a ``connect_writer`` connection: in
its first 100 ms it asks again at most 25 ms apart; past a quarter second it would ask only
every 100 ms. (0 made a read fail at once while another process switched a new file to
WAL.)"""


_LOOK_AGAIN_SECONDS = 0.002
"""The longest ``when_unlocked`` sleeps between two turns of the busy handler."""


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def when_unlocked(statement: Callable[[], Result], timeout: float) -> Result:
    """``statement()`` (one that takes the write lock first, on a ``connect_writer``
    connection): run again while another connection holds the lock, for up to ``timeout``
    seconds (then SQLite's "database is locked" error is raised), SQLite's busy handler
    waiting ``_HANDLER_MS`` at a time, so that it asks at most 25 ms apart. A statement
    refused for the lock has done nothing, so running it again is safe.

    Left to wait the whole ``timeout``, SQLite's handler asks every 100 ms once a quarter of
    a second has passed; a long deletion, fold or import that frees the lock for 25 ms
    between its short transactions could then keep a writer out for seconds, the writer
    asking each time the lock was taken again. Asked at most 25 ms apart, a writer gets the
    lock at the first pause: it waits about one transaction of the other's."""
    try:
        return statement()
    except sqlite3.OperationalError as error:
        if not _is_busy(error):
            raise
    deadline = time.monotonic() + timeout
    pause = _LOOK_AGAIN_SECONDS / 8
    while True:
        time.sleep(pause)
        pause = min(pause * 2, _LOOK_AGAIN_SECONDS)
        try:
            return statement()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise


def begin_immediate(connection: sqlite3.Connection, timeout: float) -> None:
    """``BEGIN IMMEDIATE`` on a ``connect_writer`` connection, waiting for the write lock
    as ``when_unlocked`` does, ``timeout`` seconds at most."""
    when_unlocked(functools.partial(connection.execute, "BEGIN IMMEDIATE"), timeout)


@contextlib.contextmanager
def patiently(connection: sqlite3.Connection, timeout: float) -> Iterator[None]:
    """Let SQLite's busy handler wait up to ``timeout`` seconds for the statements run
    inside (a statement of a caller's that takes the write lock by itself, outside any
    transaction), on a ``connect_writer`` connection that otherwise waits ``_HANDLER_MS``."""
    connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA busy_timeout = {_HANDLER_MS}")


def _use_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode (it stays so), trying again until ``timeout``.

    Two processes switching a new file at once can get "database is locked" at once:
    SQLite does not wait on its busy handler for this switch.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def connect_read_only(path: str, timeout: float, *, read_only_media: bool) -> sqlite3.Connection:
    """A connection that cannot write (``mode=ro``). On read-only media a WAL file without
    its -shm file opens only as immutable: nobody can be writing it there anyway."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    options: dict[str, Any] = {
        "uri": True,
        "timeout": timeout,
        "isolation_level": None,
        "check_same_thread": False,
    }
    connection: sqlite3.Connection = sqlite3.connect(uri, **options)
    if read_only_media:
        try:
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.OperationalError:
            connection.close()
            connection = sqlite3.connect(f"{uri}&immutable=1", **options)
    return connection


def disk_is_full(path: str) -> bool:
    """Whether the file system holding ``path`` has no room left for a new file's first
    pages (SQLite's -wal and -shm files need some to open the database for writing)."""
    try:
        status = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return status.f_bavail * status.f_frsize < 64 * 1024


def writable(path: str) -> bool:
    """Whether SQLite can write the file and create its -wal and -shm files beside it."""
    folder = os.path.dirname(os.path.abspath(path))
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


def file_identity(path: str) -> tuple[int, int] | None:
    """The file's device and inode numbers, or None when it is gone."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only, if it does not exist yet."""
    if not path.parent.is_dir():
        raise FeedbackError(f"cannot create {path}: the directory {path.parent} does not exist")
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
