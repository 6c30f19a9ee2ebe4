"""Caller-written SQL on SQLite, run the way Datasette runs it: a read-only connection, an
authorizer that allows reading only, a time limit through the progress handler, a row cap.

Whatever ``execute_query`` is given, it never leaves a pooled connection changed for the
next caller: no open transaction, no attached file, no connection setting (``PRAGMA
locking_mode``, ``synchronous``, ``writable_schema`` ...) left behind, and no temporary
table named like the store's (it would hide the real one from the store's own statements).

Memory is bounded three ways: no value longer than ``MAX_VALUE_BYTES`` (SQLite's own length
limit), SQLite's heap watched by the progress handler (``MAX_RESULT_BYTES`` above where the
query started), and the rows read into Python counted against the same bound.
"""

from __future__ import annotations

import ctypes
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from orchestrator_feedback.errors import QueryRefusedError
from orchestrator_feedback.storage.backends.query_limits import (
    MAX_RESULT_BYTES,
    MAX_VALUE_BYTES,
    fetch_at_most,
    past_time_limit,
    too_big,
)

__all__ = ["MAX_COLUMNS", "READS_WITH_ARGUMENT", "READ_ONLY_PRAGMAS", "guarded", "run_guarded"]

READS_WITH_ARGUMENT = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_info",
        "index_xinfo",
        "index_list",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
    }
)
"""Pragmas whose argument names what to read (``PRAGMA table_info(feedback)``)."""

READ_ONLY_PRAGMAS = READS_WITH_ARGUMENT | {
    "collation_list",
    "function_list",
    "module_list",
    "pragma_list",
    "database_list",
    "compile_options",
    "user_version",
    "schema_version",
    "data_version",
    "page_count",
    "page_size",
    "freelist_count",
    "encoding",
    "journal_mode",
    "application_id",
    "synchronous",
    "busy_timeout",
    "locking_mode",
    "cache_size",
    "foreign_keys",
    "query_only",
    "auto_vacuum",
    "secure_delete",
    "temp_store",
    "wal_autocheckpoint",
    "max_page_count",
}
"""Pragmas a read-only query may run; all but ``READS_WITH_ARGUMENT`` without an argument
(``PRAGMA user_version``, never ``PRAGMA user_version = 3``)."""

_REFUSED_FUNCTIONS = frozenset({"fts3_tokenizer", "load_extension", "readfile", "writefile"})
"""Functions that hand out raw pointers or touch files."""

_PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between two looks at the clock and the heap."""


def _sqlite_memory_used() -> Callable[[], int] | None:
    """SQLite's ``sqlite3_memory_used()``, from the library the sqlite3 module runs on
    (None where it cannot be found: the heap is then bounded by the other two limits)."""
    try:
        import _sqlite3

        function = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):  # pragma: no cover - a static build
        return None
    function.restype = ctypes.c_int64
    function.argtypes = []
    return function


_MEMORY_USED = _sqlite_memory_used()
_TEMPORARY = {
    sqlite3.SQLITE_CREATE_TEMP_TABLE,
    sqlite3.SQLITE_CREATE_TEMP_VIEW,
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_INDEX,
}
_CREATING = {
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_CREATE_VIEW,
    sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_CREATE_VTABLE,
}
MAX_COLUMNS = 100
"""The most columns a caller's query may have (SQLite's column limit while it runs): with
``MAX_VALUE_BYTES``, what bounds one row before the progress handler looks again."""

_READING = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_RECURSIVE,
}
_SCHEMA_TABLES = {"sqlite_master", "sqlite_temp_master", "sqlite_schema"}
_NEVER = {
    sqlite3.SQLITE_TRANSACTION: "a query cannot begin, commit or roll back a transaction",
    sqlite3.SQLITE_SAVEPOINT: "a query cannot open or release a savepoint",
    sqlite3.SQLITE_ATTACH: "a query cannot attach another database file",
    sqlite3.SQLITE_DETACH: "a query cannot detach a database",
}


class _Guard:
    """The authorizer's state: what it refused first, and why."""

    def __init__(self, read_only: bool, deadline: float | None) -> None:
        self.read_only = read_only
        self.refusal: str | None = None
        self.deadline = deadline
        self.over_time = False
        self.heap_limit = None if _MEMORY_USED is None else _MEMORY_USED() + MAX_RESULT_BYTES

    def progress(self) -> bool:
        """SQLite's progress handler: True stops the statement (past the deadline, or the
        heap grown past its bound)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.over_time = True
            return True
        heap_limit = self.heap_limit
        if heap_limit is not None and _MEMORY_USED is not None and _MEMORY_USED() > heap_limit:
            self.refusal = self.refusal or str(too_big())
            return True
        return False

    def authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, _t: str | None
    ) -> int:
        reason = _NEVER.get(action)
        temporary = action in _TEMPORARY or (action in _CREATING and db == "temp")
        if temporary and (arg1 or "").lower().startswith("feedback"):
            reason = (
                f"a query cannot create a temporary table, view, index or trigger named {arg1}: "
                "it would hide the store's own on this connection"
            )
        if reason is None and action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in _REFUSED_FUNCTIONS:
                reason = f"a query cannot call {arg2}()"
            else:
                return sqlite3.SQLITE_OK
        if reason is None and action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if arg2 is not None and name not in READS_WITH_ARGUMENT:
                reason = (
                    f"a query cannot change a connection setting (PRAGMA {name} = ...): "
                    "it would stay in effect for the store's later work"
                )
            elif not self.read_only or name in READ_ONLY_PRAGMAS:
                return sqlite3.SQLITE_OK
            else:
                reason = f"PRAGMA {name} is not one a read-only query may run"
        if reason is None:
            if not self.read_only or action in _READING:
                return sqlite3.SQLITE_OK
            if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
                return sqlite3.SQLITE_OK  # asked while SQLite reads the schema; query_only holds
            reason = "this statement would change the database, and the query is read-only"
        self.refusal = self.refusal or reason
        return sqlite3.SQLITE_DENY


@contextmanager
def guarded(
    connection: sqlite3.Connection, *, read_only: bool, time_limit: float | None
) -> Iterator[_Guard]:
    """Install the authorizer (and the time limit) on ``connection`` for one statement,
    and take them off again whatever happens."""
    guard = _Guard(read_only, None if time_limit is None else time.monotonic() + time_limit)
    if read_only:
        connection.execute("PRAGMA query_only = ON")  # SQLite's own refusal, beneath ours
    connection.set_authorizer(guard.authorize)
    connection.set_progress_handler(guard.progress, _PROGRESS_STEPS)
    longest = connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    widest = connection.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)
    try:
        yield guard
    finally:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, longest)
        connection.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, widest)
        connection.set_authorizer(None)
        connection.set_progress_handler(None, 0)
        if read_only:
            connection.execute("PRAGMA query_only = OFF")


def run_guarded(
    connection: sqlite3.Connection,
    sql: str,
    params: Sequence[Any] | dict[str, Any],
    *,
    read_only: bool,
    time_limit: float | None,
    max_rows: int | None,
) -> list[Any]:
    """Run one caller-written statement under the guard; return its rows (``sqlite3.Row``).

    Raises ``QueryRefusedError`` for a refused statement, one that ran past ``time_limit``
    seconds, or one that returned more than ``max_rows`` rows; SQLite's own errors (a
    syntax error, a missing table) pass through.
    """
    was_in_transaction = connection.in_transaction
    cursor = connection.cursor()
    cursor.row_factory = sqlite3.Row
    with guarded(connection, read_only=read_only, time_limit=time_limit) as guard:
        try:
            cursor.execute(sql, params)
            rows = fetch_at_most(cursor, max_rows)
        except sqlite3.DatabaseError as error:
            if guard.refusal is not None:
                raise QueryRefusedError(guard.refusal) from None
            if guard.over_time:
                raise past_time_limit(time_limit) from None
            if "too many columns" in str(error):
                raise QueryRefusedError(f"a query may have at most {MAX_COLUMNS} columns") from None
            if "too big" in str(error):
                raise QueryRefusedError(
                    f"a value of the query would be longer than {MAX_VALUE_BYTES // 2**20} MiB, "
                    "the longest a query may build"
                ) from None
            if "one statement" in str(error):
                raise QueryRefusedError(
                    "a query is one statement: run each statement on its own"
                ) from None
            if read_only and "readonly" in str(error):
                raise QueryRefusedError(
                    "this statement would change the database, and the query is read-only"
                ) from None
            raise
        finally:
            cursor.close()
            if connection.in_transaction and not was_in_transaction:  # pragma: no cover
                connection.execute("ROLLBACK")  # the authorizer refuses BEGIN; belt and braces
    return rows
