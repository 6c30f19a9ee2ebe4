"""Caller-written SQL on PostgreSQL (``execute_query``, ``query``).

What a statement is, is decided by PostgreSQL's own parser (libpg_query, through
``pglast``), never by a pattern over its text: comments nest, strings quote, and only the
parser knows where a keyword stands. Then, on the server:

- one statement (the parser counts them; the extended protocol refuses several anyway);
- a read-only query runs in a ``READ ONLY`` transaction; every query runs in a transaction
  (or, inside the caller's, a savepoint) of its own, so whatever it leaves behind is undone
  if it fails or is refused;
- no statement or function that would outlive the query on the pooled connection
  (settings, prepared statements, cursors, session locks) or reach other connections
  (advisory locks, signalling backends); settings are compared before and after, and a
  temporary table named like the store's is refused, since it would hide the real one;
- a time limit (``statement_timeout``), a lock wait limit (``lock_timeout``), and rows
  streamed from the server and stopped at the row cap or the byte bound.

What it cannot stop: a superuser's read-only query may still read server files
(``pg_read_file``). Run ``query`` as a role that may only read (docs/postgresql.md shows
one); the server then refuses those functions itself.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any, cast

import orjson

from orchestrator_feedback.errors import FeedbackError, QueryRefusedError
from orchestrator_feedback.storage.backends.postgres_rows import named_rows
from orchestrator_feedback.storage.backends.query_limits import fetch_at_most, past_time_limit

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - the backend explains the missing extra
    raise

__all__ = ["LOCK_WAIT_SECONDS", "refusal", "run_guarded"]

LOCK_WAIT_SECONDS = 2.0
"""The longest a caller's query waits for a lock before it is stopped, so that it never
queues the store's writers behind it."""

_READ_ONLY = "this statement would change the database, and the query is read-only"
_TRANSACTION = "a query cannot begin, commit or roll back a transaction"
_SAVEPOINT = "a query cannot open or release a savepoint"
_SETTING = "a query cannot change a connection setting: it would stay for the store's later work"
_STATE = "a query cannot {}: it would stay on the store's connection for its later work"
_NEVER = {
    **dict.fromkeys(("VariableSetStmt", "DiscardStmt"), _SETTING),
    **dict.fromkeys(("ListenStmt", "UnlistenStmt"), _STATE.format("listen for notifications")),
    **dict.fromkeys(
        ("AlterSystemStmt", "AlterRoleSetStmt", "AlterDatabaseSetStmt"),
        "a query cannot change the server's, a role's or a database's settings",
    ),
    **dict.fromkeys(
        ("PrepareStmt", "ExecuteStmt", "DeallocateStmt"), _STATE.format("prepare statements")
    ),
    **dict.fromkeys(
        ("DeclareCursorStmt", "FetchStmt", "ClosePortalStmt"), _STATE.format("open a cursor")
    ),
    "LoadStmt": "a query cannot load a server library",
    "LockStmt": "a query cannot lock a table: the store's writers would wait for it",
    "CopyStmt": "a query cannot COPY (it can read or write server files and run programs): "
    "use `orchestrator-feedback export`",
}
_READS = {"SelectStmt", "ExplainStmt", "VariableShowStmt"}
_SAVEPOINT_KINDS = {"TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"}

_REFUSED_FUNCTIONS = {
    **dict.fromkeys(
        (
            "pg_advisory_lock",
            "pg_advisory_lock_shared",
            "pg_advisory_xact_lock",
            "pg_advisory_xact_lock_shared",
            "pg_try_advisory_lock",
            "pg_try_advisory_lock_shared",
            "pg_try_advisory_xact_lock",
            "pg_try_advisory_xact_lock_shared",
        ),
        "a query cannot take an advisory lock: the store's writers would wait for it",
    ),
    **dict.fromkeys(
        ("pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile"),
        "a query cannot signal the server or another connection",
    ),
    "set_config": _SETTING,
    # Each runs the SQL text it is given, which the parser never sees.
    **dict.fromkeys(
        (
            "query_to_xml",
            "query_to_xmlschema",
            "query_to_xml_and_xmlschema",
            "cursor_to_xml",
            "ts_stat",
            "ts_rewrite",
            "dblink",
            "dblink_exec",
            "dblink_open",
            "dblink_send_query",
        ),
        "a query cannot call {}(): it runs SQL text the guard cannot check",
    ),
}
_NO_TRANSACTION = {"VacuumStmt"}
"""Statements PostgreSQL refuses to run inside a transaction block; none changes a
setting or leaves anything on the connection."""

# Only what was set: a library's settings appear, at their defaults, when it is first loaded
# in a session (plpgsql's five, the first time a trigger function runs on a connection).
_SETTINGS = (
    "SELECT md5(string_agg(name || '=' || setting, ',' ORDER BY name)) FROM pg_settings "
    "WHERE source <> 'default'"
)
_SHADOWING = (
    "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() "
    "AND relname LIKE 'feedback%' AND relname <> 'feedback_incoming' LIMIT 1"
)


def _parsed(sql: str) -> list[dict[str, Any]]:
    from pglast import parser as pg_parser  # only a caller's own query needs the parser

    try:
        tree = orjson.loads(pg_parser.parse_sql_json(sql))
    except pg_parser.ParseError as error:
        raise FeedbackError(f"the query failed: {error}") from None
    return list(tree.get("stmts", []))


def _function_names(node: Any) -> Iterator[str]:
    """The name of every function the statement calls, at any depth."""
    if isinstance(node, dict):
        call = node.get("FuncCall")
        if isinstance(call, dict):
            names = [part.get("String", {}).get("sval", "") for part in call.get("funcname", [])]
            if names:
                yield str(names[-1]).lower()
        for value in node.values():
            yield from _function_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _function_names(value)


def _kind(statement: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((kind, body),) = statement["stmt"].items()
    return kind, body


def _statement_refusal(kind: str, body: dict[str, Any], *, read_only: bool) -> str | None:
    if kind == "TransactionStmt":
        return _SAVEPOINT if body.get("kind") in _SAVEPOINT_KINDS else _TRANSACTION
    reason = _NEVER.get(kind)
    if reason is None and read_only and kind not in _READS:
        reason = _READ_ONLY
    if reason is None:
        for name in _function_names(body):
            if name in _REFUSED_FUNCTIONS:
                return _REFUSED_FUNCTIONS[name].format(name)
    return reason


def refusal(sql: str, *, read_only: bool) -> str | None:
    """Why ``sql`` (with its parameters merged in) may not run as a caller's query, or
    None; decided by PostgreSQL's own parser. (A statement the parser rejects raises
    ``FeedbackError`` with its message.)"""
    return _refusal_of(_parsed(sql), read_only=read_only)


def _refusal_of(statements: list[dict[str, Any]], *, read_only: bool) -> str | None:
    if not statements:
        return "the query is empty: give one SQL statement"
    for statement in statements:
        reason = _statement_refusal(*_kind(statement), read_only=False)
        if reason is not None:
            return reason
    if len(statements) > 1:
        return "a query is one statement: run each statement on its own"
    return _statement_refusal(*_kind(statements[0]), read_only=read_only)


def _returns_rows(kind: str, body: dict[str, Any]) -> bool:
    if kind == "SelectStmt":
        return "intoClause" not in body
    return kind in _READS or bool(body.get("returningList"))


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


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
    ran past ``time_limit`` seconds, waited too long for a lock, returned more than
    ``max_rows`` rows or more bytes than ``MAX_RESULT_BYTES``; nothing it did is kept then.
    """
    # The text the parser reads is the statement as the server will see it: psycopg's own
    # placeholders (%s, %(name)s, %%) resolved, each parameter a literal.
    statements = _parsed(psycopg.ClientCursor(connection).mogrify(sql, params or None))
    reason = _refusal_of(statements, read_only=read_only)
    if reason is not None:
        raise QueryRefusedError(reason)
    kind, body = _kind(statements[0])
    idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if read_only and not idle:
        raise QueryRefusedError("a read-only query cannot run inside a transaction")
    try:
        if kind in _NO_TRANSACTION and idle:
            return _run_alone(connection, sql, params, time_limit)
        with _undone_unless_kept(connection, idle=idle, read_only=read_only):
            return _run_checked(
                connection, sql, params, kind, body, time_limit, max_rows, inside=not idle
            )
    except pg_errors.ReadOnlySqlTransaction:
        raise QueryRefusedError(_READ_ONLY) from None
    except pg_errors.QueryCanceled:
        raise past_time_limit(time_limit) from None
    except pg_errors.LockNotAvailable:
        raise QueryRefusedError(
            f"the query waited more than {LOCK_WAIT_SECONDS:g} s for a lock and was stopped, "
            "so that the store's writers never wait behind it"
        ) from None
    finally:
        if not connection.closed and (
            connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        ):
            # A session-level advisory lock outlives the statement and the transaction
            # (a function written with --write may take one): none stays on the pool.
            connection.execute("SELECT pg_advisory_unlock_all()")


class _undone_unless_kept:
    """A transaction of the query's own (``BEGIN READ ONLY`` for a read-only one), or a
    savepoint inside the caller's: kept only when the query succeeded and may write."""

    _NAME = "orchestrator_feedback_query"

    def __init__(self, connection: psycopg.Connection[Any], *, idle: bool, read_only: bool):
        self._connection = connection
        self._idle = idle
        self._read_only = read_only

    def __enter__(self) -> None:
        if self._idle:
            self._connection.execute("BEGIN READ ONLY" if self._read_only else "BEGIN")
        else:
            self._connection.execute(f"SAVEPOINT {self._NAME}")

    def __exit__(self, error_type: object, error: object, _traceback: object) -> None:
        connection = self._connection
        if connection.closed:
            return
        keep = error_type is None and not self._read_only
        if self._idle:
            connection.execute("COMMIT" if keep else "ROLLBACK")
        elif keep:
            connection.execute(f"RELEASE SAVEPOINT {self._NAME}")
        else:
            connection.execute(f"ROLLBACK TO SAVEPOINT {self._NAME}")
            connection.execute(f"RELEASE SAVEPOINT {self._NAME}")


def _run_checked(
    connection: psycopg.Connection[Any],
    sql: str,
    params: Sequence[Any] | dict[str, Any],
    kind: str,
    body: dict[str, Any],
    time_limit: float | None,
    max_rows: int | None,
    *,
    inside: bool,
) -> list[Any]:
    """Run the statement inside the query's transaction (``inside``: a savepoint of the
    caller's), under its limits; refuse it when it changed a setting or hid one of the
    store's tables (the caller then undoes it)."""
    # SET LOCAL ends with a transaction of our own; in the caller's it would outlive the
    # query, so the caller's limits are put back after it.
    saved = (
        connection.execute(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')"
        ).fetchone()
        if inside
        else None
    )
    if time_limit is not None:
        connection.execute(f"SET LOCAL statement_timeout = {_milliseconds(time_limit)}")
    connection.execute(f"SET LOCAL lock_timeout = {_milliseconds(LOCK_WAIT_SECONDS)}")
    before = connection.execute(_SETTINGS).fetchone()
    with connection.cursor(row_factory=named_rows) as cursor:
        if _returns_rows(kind, body):
            stream = cast("Generator[Any, None, None]", cursor.stream(sql, params or None))
            try:
                rows = fetch_at_most(stream, max_rows)
            finally:
                stream.close()  # at once: psycopg cancels what the server is still sending
        else:
            # Pipeline mode takes the extended protocol: one statement, never several.
            with connection.pipeline():
                cursor.execute(sql, params or None)
            rows = [] if cursor.description is None else fetch_at_most(cursor, max_rows)
    if connection.execute(_SETTINGS).fetchone() != before:
        raise QueryRefusedError(_SETTING)
    shadow = connection.execute(_SHADOWING).fetchone()
    if shadow is not None:
        raise QueryRefusedError(
            f"a query cannot create a temporary table named {shadow[0]}: it would hide the "
            "store's own tables on this connection"
        )
    if saved is not None:  # the caller's transaction goes on with its own limits
        connection.execute(
            "SELECT set_config('statement_timeout', %s, true), "
            "set_config('lock_timeout', %s, true)",
            saved,
        )
    return rows


def _run_alone(
    connection: psycopg.Connection[Any],
    sql: str,
    params: Sequence[Any] | dict[str, Any],
    time_limit: float | None,
) -> list[Any]:
    """A statement that cannot run in a transaction block (``VACUUM``), on its own."""
    if time_limit is not None:
        connection.execute(f"SET statement_timeout = {_milliseconds(time_limit)}")
    try:
        with connection.pipeline():
            connection.execute(sql, params or None)
    finally:
        if time_limit is not None and not connection.closed:
            connection.execute("RESET statement_timeout")
    return []
