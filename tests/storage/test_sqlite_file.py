"""What only a SQLite file shows: the schema on disk, migrations, permissions, URLs, locking."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackError,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
    PoolTimeoutError,
    SchemaVersionError,
)
from orchestrator_feedback.storage.backends import sqlite_statements
from orchestrator_feedback.storage.backends.sqlite import SCHEMA_VERSION
from tests.conftest import in_threads

SEED_SCHEMA = """
CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    feedback_type TEXT NOT NULL,
    content TEXT NOT NULL,
    rating INTEGER,
    user_id TEXT,
    metadata TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT rating_range CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5))
);
CREATE INDEX idx_task_id ON feedback(task_id);
CREATE INDEX idx_feedback_type ON feedback(feedback_type);
CREATE INDEX idx_created_at ON feedback(created_at);
"""


def test_opening_creates_the_seed_schema_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    FeedbackStorage(path).close()
    connection = sqlite3.connect(path)
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"feedback", "idx_task_type_rating", "idx_feedback_type", "idx_created_at"} <= names
    # The seed's idx_task_id is dropped: the task lookups use idx_task_type_rating.
    assert "idx_task_id" not in names
    plan = connection.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM feedback WHERE task_id = 't' ORDER BY created_at"
    ).fetchall()
    assert "USING INDEX idx_task_type_rating (task_id=?)" in str(plan)
    # The user index leaves out entries without a user, and still serves user lookups.
    plan = connection.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM feedback WHERE user_id = 'u' ORDER BY created_at"
    ).fetchall()
    assert "USING INDEX idx_user_id (user_id=?)" in str(plan)
    user_index = connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'idx_user_id'"
    ).fetchone()[0]
    assert user_index.endswith("WHERE user_id IS NOT NULL")
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError, match="rating_range"):
        connection.execute(
            "INSERT INTO feedback VALUES ('x', 't', 'general', 'c', 9, NULL, '{}', 'a', 'b')"
        )


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    FeedbackStorage(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_database_made_by_the_seed_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "seed.db"
    connection = sqlite3.connect(path)
    connection.executescript(SEED_SCHEMA)
    connection.execute(
        "INSERT INTO feedback VALUES ('old', 'task-1', 'general', 'kept', 4, NULL, '{}', "
        "'2025-01-01 10:00:00.000000', '2025-01-01 10:00:00.000000')"
    )
    connection.commit()
    connection.close()
    with FeedbackStorage(path) as storage:
        assert storage.schema_version == SCHEMA_VERSION
        old = storage.get("old")
        assert old is not None and old.content == "kept" and old.rating == 4
        assert storage.get_summary("task-1").total_count == 1
        assert storage.get_by_task("task-1") == [old]


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 999")
    connection.close()
    with pytest.raises(SchemaVersionError, match="999"):
        FeedbackStorage(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 999


@pytest.mark.parametrize("url", ["sqlite:///{path}", "{path}"])
def test_paths_and_sqlite_urls_name_the_same_file(tmp_path: Path, url: str) -> None:
    path = tmp_path / "by-url.db"
    with FeedbackStorage(url.format(path=path)) as storage:
        storage.create(FeedbackEntry(task_id="t", feedback_type="general", content="c"))
    with FeedbackStorage(path) as storage:
        assert storage.count() == 1


def test_memory_databases_are_shared_by_the_pool_and_private_to_the_store() -> None:
    first, second = FeedbackStorage(":memory:"), FeedbackStorage("sqlite:///:memory:")
    first.create(FeedbackEntry(task_id="t", feedback_type="general", content="c"))
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(first.count()))
    thread.start()
    thread.join()
    assert seen == [1] and second.count() == 0


def test_unknown_schemes_and_missing_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="mongodb"):
        FeedbackStorage("mongodb://localhost/x")
    with pytest.raises(FeedbackError, match="does not exist"):
        FeedbackStorage(tmp_path / "missing" / "x.db")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("pool_size", 0),
        ("timeout", -1),
        ("timeout", "5"),
        ("timeout", float("nan")),
        ("queue_size", 0),
        ("batch_size", 2.5),
        ("batch_window", -1),
        ("batch_window", float("nan")),
        ("batch_window", float("inf")),
        ("batch_window", "0.05"),
        ("on_full", "wait"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, option: str, value: object) -> None:
    with pytest.raises(FeedbackValidationError) as raised:
        FeedbackStorage(tmp_path / "x.db", **{option: value})  # type: ignore[arg-type]
    assert raised.value.field == option
    assert not (tmp_path / "x.db").exists()


def test_waiting_too_long_for_a_connection_is_a_clear_error(tmp_path: Path) -> None:
    storage = FeedbackStorage(tmp_path / "x.db", pool_size=1, timeout=0.2)
    errors: list[BaseException] = []
    with storage.transaction():  # holds the only connection

        def other() -> None:
            try:
                storage.count()
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(errors) == 1 and isinstance(errors[0], PoolTimeoutError)
    assert "pool_size" in str(errors[0])
    assert storage.count() == 0


def test_synchronous_full_is_available(tmp_path: Path) -> None:
    with FeedbackStorage(tmp_path / "x.db", synchronous="FULL") as storage:
        storage.create(FeedbackEntry(task_id="t", feedback_type="general", content="c"))
        assert storage.count() == 1
    with pytest.raises(FeedbackError, match="synchronous"):
        FeedbackStorage(tmp_path / "y.db", synchronous="OFF")


def _write_from_process(path: str, process: int, per_thread: int) -> None:
    storage = FeedbackStorage(path, timeout=60)

    def write(thread: int) -> None:
        for n in range(per_thread):
            storage.create(
                FeedbackEntry(
                    task_id=f"p{process}-t{thread}",
                    feedback_type=FeedbackType.GENERAL,
                    content=str(n),
                )
            )
            if n % 10 == 0:
                storage.get_summary(f"p{process}-t{thread}")

    errors = in_threads(write, 8)
    storage.close()
    if errors:
        raise errors[0]


def test_two_processes_of_eight_threads_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_from_process, args=(path, p, 60)) for p in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0]
    with FeedbackStorage(path) as storage:
        assert storage.count() == 2 * 8 * 60
        assert {
            row[0] for row in storage.execute_query("SELECT COUNT(DISTINCT task_id) FROM feedback")
        } == {16}
        assert storage.execute_query("PRAGMA integrity_check")[0][0] == "ok"


def _open_and_close(path: str, start: Any) -> None:
    # A child that hangs prints where (in the failure's captured stderr) before the test
    # gives up on it: such a hang was seen once in CI, in the first round, two of four.
    faulthandler.dump_traceback_later(50, exit=True)
    start.wait()
    FeedbackStorage(path).close()


def test_processes_opening_a_new_file_at_once_never_see_locked(tmp_path: Path) -> None:
    # Switching a new file to WAL is a step SQLite does not wait on its busy handler for.
    context = multiprocessing.get_context("fork")
    for round_number in range(60):
        path = str(tmp_path / f"new-{round_number}.db")
        start = context.Event()
        processes = [context.Process(target=_open_and_close, args=(path, start)) for _ in range(4)]
        for process in processes:
            process.start()
        start.set()
        for process in processes:
            process.join(timeout=60)
        assert [process.exitcode for process in processes] == [0] * 4, f"round {round_number}"


def test_listeners_are_given_to_the_constructor(
    tmp_path: Path, make_entry: Callable[..., FeedbackEntry]
) -> None:
    heard: list[str] = []
    with FeedbackStorage(
        tmp_path / "x.db", listeners=[lambda change, entry: heard.append(entry.id)]
    ) as storage:
        entry = storage.create(make_entry())
    assert heard == [entry.id]


def test_the_background_insert_reads_the_same_with_json_extract(
    tmp_path: Path, make_entry: Callable[..., FeedbackEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite before 3.38 has no ->> operator: the writer's INSERT then uses json_extract.
    monkeypatch.setattr(
        sqlite_statements,
        "GROUP_INSERT",
        sqlite_statements.group_insert_sql("json_extract(value, '$[{}]')"),
    )
    with FeedbackStorage(tmp_path / "old.db") as storage:
        entries = [
            make_entry(content=f"line\n{number} 🎉", rating=None, user_id=None)
            for number in range(3)
        ]
        # Straight to the group insert: through the writer, a failed group would be
        # retried one entry at a time and this would pass anyway.
        backend = storage.backend
        connection = backend.acquire()
        try:
            assert backend.insert_group(connection, entries, None) == 3
        finally:
            backend.release(connection)
        assert [storage.get(entry.id) for entry in entries] == entries


def test_background_writes_wait_out_a_lock_held_past_the_busy_timeout(
    tmp_path: Path, make_entry: Callable[..., FeedbackEntry], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "locked.db"
    storage = FeedbackStorage(path, timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's long write: a VACUUM, an import
    threading.Timer(1.0, other.execute, args=("COMMIT",)).start()
    for _ in range(30):
        storage.submit(make_entry())
    assert storage.flush(timeout=30) is True  # none failed: the writer waited the lock out
    assert storage.count() == 30
    messages = [record.getMessage() for record in caplog.records]
    assert any("takes no writes (OperationalError: database is locked)" in m for m in messages)
    assert any("takes writes again" in m for m in messages)
    storage.close()
    other.close()


def test_a_thread_working_alone_keeps_its_warm_connection(tmp_path: Path) -> None:
    """Once a second thread made the pool open a second connection, a thread working alone
    still gets back the connection it used last (its SQLite caches warm), not each idle
    one in turn (every other one's cache stale from the commits made meanwhile)."""
    with FeedbackStorage(tmp_path / "f.db") as storage:
        pool = storage.backend._pool  # type: ignore[attr-defined]
        first, second = pool.acquire(), pool.acquire()
        pool.release(second)
        pool.release(first)
        used = []
        for _ in range(4):
            connection = pool.acquire()
            used.append(connection)
            pool.release(connection)
        assert used == [first] * 4
