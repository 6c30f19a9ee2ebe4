"""Caller-written SQL on PostgreSQL: one statement (the extended protocol, which refuses
several), a read-only transaction for read-only queries, ``statement_timeout`` for the time
limit, a row cap, and never a change left on a pooled connection.

What it cannot stop: a superuser's read-only query may still call server functions such as
``pg_read_file``. Run ``query`` as a role that may only read (docs/postgresql.md shows
one); the server then refuses those functions itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from orchestrator_feedback.errors import QueryRefusedError
from orchestrator_feedback.storage.backends.postgres_rows import named_rows
from orchestrator_feedback.storage.backends.query_limits import fetch_at_most, past_time_limit

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - the backend explains the missing extra
    raise

__all__ = ["first_keyword", "run_guarded"]

_COMMENTS = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")

_TRANSACTION = "a query cannot begin, commit or roll back a transaction"
_SAVEPOINT = "a query cannot open or release a savepoint"
_SETTING = "a query cannot change a connection setting: it would stay for the store's later work"
_NEVER = {
    **dict.fromkeys(
        ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE"), _TRANSACTION
    ),
    **dict.fromkeys(("SAVEPOINT", "RELEASE"), _SAVEPOINT),
    **dict.fromkeys(("SET", "RESET", "DISCARD", "LISTEN", "UNLISTEN"), _SETTING),
    "LOAD": "a query cannot load a server library",
    "COPY": "a query cannot COPY (it can read or write server files and run programs): "
    "use `orchestrator-feedback export`",
}
_READS = {"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "SHOW"}


def first_keyword(sql: str) -> str:
    """The statement's first word, upper-cased, after any leading comments."""
    position = 0
    while match := _COMMENTS.match(sql, position):
        if match.end() == position:
            break
        position = match.end()
    word = _WORD.match(sql, position)
    return word.group(0).upper() if word else ""


def run_guarded(
    connection: psycopg.Connection[Any],
    sql: str,
    params: Sequence[Any] | dict[str, Any],
    *,
    read_only: bool,
    time_limit: float | None,
    max_rows: int | None,
) -> list[Any]:
    """Run one caller-written statement; return its rows (by position and by name).

    Raises ``QueryRefusedError`` for a refused statement, several statements, one that
    ran past ``time_limit`` seconds or returned more than ``max_rows`` rows.
    """
    keyword = first_keyword(sql)
    reason = _NEVER.get(keyword)
    if reason is None and read_only and keyword not in _READS:
        reason = "this statement would change the database, and the query is read-only"
    if reason is not None:
        raise QueryRefusedError(reason)
    idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if read_only and not idle:
        raise QueryRefusedError("a read-only query cannot run inside a transaction")
    # A time limit is a transaction's setting (SET LOCAL): a statement outside ours runs in
    # a transaction of its own, which also undoes whatever it leaves behind if it fails.
    own_transaction = idle and (read_only or time_limit is not None)
    if own_transaction:
        connection.execute("BEGIN READ ONLY" if read_only else "BEGIN")
    succeeded = False
    try:
        if time_limit is not None:
            milliseconds = max(1, round(time_limit * 1000))
            connection.execute(f"SET LOCAL statement_timeout = {milliseconds}")
        with connection.cursor(row_factory=named_rows) as cursor:
            # Pipeline mode always takes the extended protocol: one statement, never several
            # (the simple protocol psycopg uses without parameters would run them all).
            with connection.pipeline():
                cursor.execute(sql, params or None)
            rows = [] if cursor.description is None else fetch_at_most(cursor, max_rows)
        succeeded = True
    except pg_errors.ReadOnlySqlTransaction:
        raise QueryRefusedError(
            "this statement would change the database, and the query is read-only"
        ) from None
    except pg_errors.QueryCanceled:
        raise past_time_limit(time_limit) from None
    except pg_errors.SyntaxError as error:
        if "multiple commands" in str(error):
            raise QueryRefusedError(
                "a query is one statement: run each statement on its own"
            ) from None
        raise
    finally:
        if own_transaction and not connection.closed:
            connection.execute("COMMIT" if succeeded and not read_only else "ROLLBACK")
        if not connection.closed and (
            connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        ):
            # A session-level advisory lock outlives the statement and the transaction;
            # the store takes none of its own, so none may stay on a pooled connection.
            connection.execute("SELECT pg_advisory_unlock_all()")
    return rows
