"""The guard around a caller's own SQL (``execute_query``, ``query``): what it refuses, what
it bounds, and that nothing it runs outlives the query (issue "Never lose, never leak,
third round", items 1-4, 9 and 14). Each test failed before its fix.

The fuzz test at the end runs a few hundred generated statements in `make test`; `make fuzz`
runs many more (ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orchestrator_feedback import FeedbackEntry, FeedbackError, FeedbackStorage
from orchestrator_feedback.errors import QueryRefusedError
from tests.conftest import open_store

MakeEntry = Callable[..., FeedbackEntry]
EXAMPLES = int(os.environ.get("ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES", "150"))
FILE_BACKENDS = ["sqlite-file", "postgres"]


# -- item 1: read-only-ness decided by a parser, never a pattern ----------------------------

NESTED_COMMENT_ESCAPES = [
    "/* /* */ SELECT */ COPY (SELECT 'x') TO PROGRAM 'touch {proof}'",
    "/* /* */ SELECT */ COPY (SELECT content FROM feedback) TO '{proof}'",
    "/* /* */ SELECT */ COMMIT",
    "/* a /* b /* c */ SELECT */ */ COPY (SELECT 1) TO PROGRAM 'touch {proof}'",
    "-- SELECT\nCOPY (SELECT 1) TO PROGRAM 'touch {proof}'",
]


@pytest.mark.parametrize("statement", NESTED_COMMENT_ESCAPES)
@pytest.mark.parametrize("read_only", [True, False])
def test_postgres_nested_comments_never_hide_a_statement(
    postgres_url: str, tmp_path: Path, statement: str, read_only: bool
) -> None:
    proof = Path("/tmp") / f"orchestrator-feedback-proof-{os.getpid()}-{time.monotonic_ns()}"
    with FeedbackStorage(postgres_url) as store:
        with pytest.raises(QueryRefusedError, match=r"COPY|transaction"):
            store.execute_query(statement.format(proof=proof), read_only=read_only)
        assert store.execute_query("SELECT 1", read_only=True)[0][0] == 1
    assert not proof.exists()


@pytest.mark.parametrize("statement", [" SELECT 1", "\nSELECT 1", "\t -- a comment\n SELECT 1"])
def test_read_only_queries_may_start_with_space(storage: FeedbackStorage, statement: str) -> None:
    assert storage.execute_query(statement, read_only=True)[0][0] == 1


@pytest.mark.parametrize("statement", ["(SELECT 1)", "\t(\nSELECT 1)"])
def test_postgres_read_only_queries_may_be_parenthesised(postgres_url: str, statement: str) -> None:
    with FeedbackStorage(postgres_url) as store:
        assert store.execute_query(statement, read_only=True)[0][0] == 1


# -- item 2: settings never stay on a pooled connection ------------------------------------

SETTING_CHANGES = [
    " SET search_path TO pg_temp",
    "/* /* */ x */ SET search_path TO pg_temp",
    "SELECT set_config('search_path', 'pg_temp', false)",
    "SELECT pg_catalog.set_config('search_path', 'pg_temp', true)",
    "DO $$ BEGIN PERFORM set_config('search_path', 'pg_temp', false); END $$",
    "DO $$ BEGIN EXECUTE 'SET search_path TO pg_temp'; END $$",
]


@pytest.mark.parametrize("statement", SETTING_CHANGES)
def test_postgres_settings_never_stay_on_the_pooled_connection(
    postgres_url: str, make_entry: MakeEntry, statement: str
) -> None:
    with FeedbackStorage(postgres_url, pool_size=1) as store:
        with pytest.raises(QueryRefusedError, match="setting"):
            store.execute_query(statement)
        with pytest.raises(QueryRefusedError, match="setting"), store.transaction():
            store.create(make_entry(task_id="in the caller's transaction"))
            store.execute_query(statement)
        created = store.create(make_entry())  # the one pooled connection, as it was
        assert store.get(created.id) is not None
        assert store.count() == 1


# -- item 3: a read-only query cannot hold or kill writers ---------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT pg_advisory_xact_lock(7362810441), pg_sleep(3)",
        'SELECT "pg_advisory_lock"(1)',
        "SELECT pg_catalog.pg_try_advisory_lock_shared(1)",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
        "SELECT pg_cancel_backend(1)",
        "SELECT query_to_xml('SELECT pg_terminate_backend(1)', true, true, '')",
    ],
)
def test_postgres_a_read_only_query_cannot_lock_or_signal(
    postgres_url: str, make_entry: MakeEntry, statement: str
) -> None:
    with (
        FeedbackStorage(postgres_url) as store,
        pytest.raises(QueryRefusedError, match=r"advisory lock|signal|SQL text"),
    ):
        store.execute_query(statement, read_only=True)


def test_postgres_a_query_waiting_for_a_lock_gives_up_within_its_lock_wait(
    postgres_url: str, make_entry: MakeEntry
) -> None:
    import psycopg

    with FeedbackStorage(postgres_url) as store:
        store.create(make_entry())
        with psycopg.connect(postgres_url) as holder:
            holder.execute("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(QueryRefusedError, match="waited more than"):
                store.execute_query("SELECT COUNT(*) FROM feedback", read_only=True)
            assert time.monotonic() - started < 10


# -- item 4: work and memory are bounded ---------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_sqlite_a_query_cannot_build_gigabytes(tmp_path: Path) -> None:
    with FeedbackStorage(tmp_path / "f.db") as store:
        before = _peak_rss_mib()
        started = time.monotonic()
        with pytest.raises(QueryRefusedError, match=r"longer than 16 MiB"):
            store.execute_query(
                "SELECT randomblob(1e9), randomblob(1e9), randomblob(1e9), randomblob(1e9)",
                read_only=True,
                time_limit=1,
            )
        many = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200) "
            "SELECT randomblob(5e6) FROM c"
        )
        with pytest.raises(QueryRefusedError, match="larger than 256 MiB"):
            store.execute_query(many, read_only=True, time_limit=60)
        assert time.monotonic() - started < 10
        assert _peak_rss_mib() - before < 1024
        wide = "SELECT " + ", ".join(["1"] * 101)
        with pytest.raises(QueryRefusedError, match="at most 100 columns"):
            store.execute_query(wide, read_only=True)
        # The limits are lifted again after each query, and ordinary ones still run.
        assert store.execute_query("SELECT length(randomblob(1e6))")[0][0] == 1_000_000


def test_postgres_the_row_cap_stops_the_server_not_the_client(postgres_url: str) -> None:
    with FeedbackStorage(postgres_url) as store:
        before = _peak_rss_mib()
        started = time.monotonic()
        with pytest.raises(QueryRefusedError, match="more than 10 rows"):
            store.execute_query(
                "SELECT repeat('x', 1000000) FROM generate_series(1, 2000)",
                read_only=True,
                max_rows=10,
            )
        with pytest.raises(QueryRefusedError, match="larger than 256 MiB"):
            store.execute_query(
                "SELECT repeat('x', 1000000) FROM generate_series(1, 2000)", read_only=True
            )
        assert _peak_rss_mib() - before < 600
        assert time.monotonic() - started < 30
        assert store.execute_query("SELECT 1", read_only=True)[0][0] == 1


# -- item 9: a temporary table never shadows the store's ------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TEMP TABLE feedback (id TEXT, task_id TEXT)",
        "CREATE TEMPORARY VIEW feedback AS SELECT 1 AS id",
        "CREATE TABLE temp.feedback_history (a INTEGER)",
    ],
)
@pytest.mark.parametrize("backend_kind", FILE_BACKENDS)
def test_a_temporary_table_named_like_the_stores_is_refused(
    backend_kind: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    make_entry: MakeEntry,
    statement: str,
) -> None:
    """(Stores kept in files: an in-memory one is gone once closed.)"""
    if backend_kind == "postgres":
        statement = statement.replace("temp.", "pg_temp.")
    store = open_store(backend_kind, tmp_path, request, pool_size=1)
    with store:
        with pytest.raises(QueryRefusedError, match="temporary"):
            store.execute_query(statement)
        created = [store.create(make_entry(task_id=f"t{n}")) for n in range(5)]
        assert store.count() == 5
    with open_store(backend_kind, tmp_path, request) as reopened:
        assert sorted(e.id for e in reopened.get_all()) == sorted(e.id for e in created)


# -- item 14: blobs read as data, not Python reprs -------------------------------------------


def test_query_json_shows_blobs_as_base64_like_sqlite_utils(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    database = tmp_path / "f.db"
    FeedbackStorage(database).close()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator_feedback",
            "--database",
            str(database),
            "query",
            "SELECT x'00ff41' AS b, 'text' AS t",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [{"b": {"$base64": True, "encoded": "AP9B"}, "t": "text"}]


# -- the fuzz test: generated statements never change anything --------------------------------

_OPENERS = ["", " ", "\n", "\t", "/* */", "/**/", "/* /* */ */", "/* /* */", "-- x\n", "--\n", "("]
_WORDS = [
    "SELECT 1",
    "SELECT * FROM feedback",
    "select count(*) from feedback",
    "DELETE FROM feedback",
    "UPDATE feedback SET content = 'x'",
    "INSERT INTO feedback (id) VALUES ('x')",
    "DROP TABLE feedback",
    "CREATE TABLE sneaky (a INTEGER)",
    "CREATE TEMP TABLE feedback (a INTEGER)",
    "COMMIT",
    "BEGIN",
    "ROLLBACK",
    "SAVEPOINT s",
    "SET search_path TO pg_temp",
    "RESET ALL",
    "SELECT set_config('search_path', 'pg_temp', false)",
    "SELECT pg_advisory_lock(1)",
    "COPY (SELECT 1) TO PROGRAM 'touch {proof}'",
    "COPY feedback TO '{proof}'",
    "ATTACH DATABASE '{proof}' AS x",
    "VACUUM INTO '{proof}'",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "SELECT writefile('{proof}', 'x')",
    "WITH d AS (DELETE FROM feedback RETURNING id) SELECT * FROM d",
    "EXPLAIN ANALYZE DELETE FROM feedback",
    "LOCK TABLE feedback",
    "PREPARE p AS SELECT 1",
    "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
    "LISTEN x",
    "'unterminated",
    '"quoted',
    "$$dollar",
    "ünïcödé",
]
_CLOSERS = ["", ";", " ;", "*/", ")", "; SELECT 1", "; DELETE FROM feedback", " -- tail", "\n"]


@st.composite
def _statements(draw: Any) -> str:
    parts = [draw(st.sampled_from(_OPENERS))]
    for _ in range(draw(st.integers(1, 3))):
        word = draw(st.sampled_from(_WORDS))
        casing = draw(st.sampled_from([str, str.upper, str.lower, str.swapcase]))
        parts.append(casing(word) if "{proof}" not in word else word)
        parts.append(draw(st.sampled_from(_CLOSERS)))
    return "".join(parts)


def _fingerprint(store: FeedbackStorage, backend_kind: str) -> tuple[Any, ...]:
    rows = sorted((e.id, e.content, e.rating) for e in store.get_all())
    if backend_kind == "postgres":
        (settings_hash,) = store.execute_query(
            "SELECT md5(string_agg(name || '=' || setting, ',' ORDER BY name)) FROM pg_settings",
            read_only=True,
        )[0]
        tables = store.execute_query(
            "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
            "WHERE relnamespace = current_schema()::regnamespace",
            read_only=True,
        )[0][0]
        return (rows, settings_hash, tables)
    pragmas = tuple(
        store.execute_query(f"PRAGMA {name}", read_only=True)[0][0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "query_only", "foreign_keys")
    )
    tables = store.execute_query(
        "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)",
        read_only=True,
    )[0][0]
    return (rows, pragmas, tables)


@pytest.fixture(params=FILE_BACKENDS)
def fuzz_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fuzz_store(
    fuzz_backend: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> Iterator[tuple[FeedbackStorage, str, Path, Callable[[str], Any]]]:
    """A store with one pooled connection, and a function that runs SQL on a connection of
    its own (another process's view of the same database). SQLite in a file: files beside
    it are watched too."""
    backend_kind = fuzz_backend
    store = open_store(backend_kind, tmp_path, request, pool_size=1, timeout=5)
    store.create_many([make_entry(task_id=f"t{n}") for n in range(3)])
    if backend_kind == "postgres":
        import psycopg

        url = request.getfixturevalue("postgres_url")

        def elsewhere(sql: str) -> Any:
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SET lock_timeout = 4000")
                return other.execute(sql).fetchall()
    else:
        import sqlite3

        def elsewhere(sql: str) -> Any:
            with sqlite3.connect(tmp_path / "feedback.db", timeout=4) as other:
                return other.execute(sql).fetchall()

    yield store, backend_kind, tmp_path, elsewhere
    store.close()


def test_generated_read_only_statements_never_change_anything(
    fuzz_store: tuple[FeedbackStorage, str, Path, Callable[[str], Any]],
) -> None:
    store, backend_kind, folder, elsewhere = fuzz_store
    proof = folder / "proof"
    before = _fingerprint(store, backend_kind)
    files = sorted(p.name for p in folder.iterdir())
    write_elsewhere = (
        "SELECT pg_advisory_lock(424242), pg_advisory_unlock(424242), "
        "(SELECT COUNT(*) FROM feedback)"
        if backend_kind == "postgres"
        else "INSERT INTO feedback_rollup_mark SELECT * FROM feedback_rollup_mark WHERE 0"
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(_statements())
    def run(statement: str) -> None:
        try:
            store.execute_query(
                statement.format(proof=proof), read_only=True, time_limit=2, max_rows=100
            )
        except (FeedbackError, *store.backend.database_errors):
            pass
        assert not proof.exists()
        assert sorted(p.name for p in folder.iterdir() if "-journal" not in p.name) == files
        assert _fingerprint(store, backend_kind) == before
        # Another connection takes a lock at once: the query left nothing holding one.
        elsewhere(write_elsewhere)

    run()


def test_generated_statements_with_write_never_leave_the_connection_changed(
    fuzz_store: tuple[FeedbackStorage, str, Path, Callable[[str], Any]], make_entry: MakeEntry
) -> None:
    """With --write a statement may change data, but never the connection: what the
    store writes next is in its own table, seen from another connection."""
    store, _backend_kind, folder, elsewhere = fuzz_store
    proof = folder / "proof"

    @settings(
        max_examples=max(20, EXAMPLES // 3),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(_statements())
    def run(statement: str) -> None:
        assume("drop" not in statement.lower())  # --write may drop the table: not our case
        try:
            store.execute_query(statement.format(proof=proof), time_limit=2, max_rows=100)
        except (FeedbackError, *store.backend.database_errors):
            pass
        assert not proof.exists()
        entry = store.create(make_entry(task_id="after"))
        if elsewhere("SELECT COUNT(*) FROM feedback WHERE id = 'x'")[0][0] == 0:
            # (unless the statement dropped the table, which --write allows)
            assert elsewhere(f"SELECT id FROM feedback WHERE id = '{entry.id}'") == [(entry.id,)], (
                statement
            )

    run()
