"""What only PostgreSQL shows: its schema, migrations under a lock, lost connections,
many processes at once, and the missing-extra message."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackError,
    FeedbackStorage,
    FeedbackType,
    QueryRefusedError,
    SchemaVersionError,
)
from orchestrator_feedback.storage.backends.postgres import SCHEMA_VERSION, hide_password

MakeEntry = Callable[..., FeedbackEntry]


def test_schema_uses_jsonb_and_timestamptz(postgres_url: str) -> None:
    with FeedbackStorage(postgres_url) as storage:
        columns = {
            row["column_name"]: row["data_type"]
            for row in storage.execute_query(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'feedback' AND table_schema = current_schema()"
            )
        }
        assert columns["metadata"] == "jsonb"
        assert columns["created_at"] == "timestamp with time zone"
        assert storage.schema_version == SCHEMA_VERSION


def test_metadata_is_queryable_as_jsonb_with_psycopg_placeholders(
    postgres_url: str, make_entry: MakeEntry
) -> None:
    with FeedbackStorage(postgres_url) as storage:
        storage.create_many(
            [
                make_entry(metadata={"worker_id": w}, rating=r)
                for w, r in [("w1", 5), ("w1", 3), ("w2", 1)]
            ]
        )
        rows = storage.execute_query(
            "SELECT metadata->>'worker_id' AS worker_id, AVG(rating) AS avg_rating "
            "FROM feedback WHERE metadata @> %s::jsonb GROUP BY 1",
            ('{"worker_id": "w1"}',),
        )
        assert [(row["worker_id"], float(row["avg_rating"])) for row in rows] == [("w1", 4.0)]


def test_own_sql_that_writes_on_a_connection_new_to_triggers_is_not_refused(
    postgres_url: str,
) -> None:
    """The first trigger function a connection runs loads plpgsql, whose five settings then
    appear in pg_settings at their defaults; the guard took that for the query changing a
    setting and refused an UPDATE run on such a connection."""
    with FeedbackStorage(postgres_url) as writing:
        entry = writing.create(
            FeedbackEntry(task_id="t", feedback_type="general", content="c", rating=2)
        )
    with FeedbackStorage(postgres_url, pool_size=1) as storage:  # its one connection is new
        storage.execute_query("UPDATE feedback SET rating = 5 WHERE id = %s", [entry.id])
        assert storage.get(entry.id).rating == 5
        with pytest.raises(QueryRefusedError, match="connection setting"):
            storage.execute_query("SELECT set_config('work_mem', '8MB', false)")


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    FeedbackStorage(postgres_url).close()
    with FeedbackStorage(postgres_url) as storage:
        storage.execute_query("UPDATE feedback_schema SET version = 999")
    with pytest.raises(SchemaVersionError, match="999"):
        FeedbackStorage(postgres_url)


def _open_store(url: str) -> None:
    FeedbackStorage(url, timeout=60).close()


def test_processes_migrating_at_once_do_not_collide(postgres_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open_store, args=(postgres_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with FeedbackStorage(postgres_url) as storage:
        assert storage.execute_query("SELECT COUNT(*) FROM feedback_schema")[0][0] == 1


def _write_many(url: str, process: int) -> None:
    with FeedbackStorage(url, timeout=60) as storage:
        for n in range(100):
            storage.create(
                FeedbackEntry(
                    task_id=f"p{process}", feedback_type=FeedbackType.GENERAL, content=str(n)
                )
            )
        storage.create_many(
            FeedbackEntry(task_id=f"p{process}", feedback_type="general", content="batch")
            for _ in range(150)
        )
        # Transactions that touch the rollups' rows in orders of their own (a type, a worker,
        # an hour each): writers wait for each other there, and must never deadlock.
        types = list(FeedbackType)
        for n in range(50):
            with storage.transaction():
                for step in range(3):
                    k = (n + step * (process + 1)) % len(types)
                    storage.create(
                        FeedbackEntry(
                            task_id=f"p{process}",
                            feedback_type=types[k],
                            content=f"t{n}",
                            rating=k % 5 + 1,
                            metadata={"worker_id": f"w{(k * 7 + process) % 5}"},
                        )
                    )


def test_four_processes_lose_and_double_nothing(postgres_url: str) -> None:
    FeedbackStorage(postgres_url).close()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_many, args=(postgres_url, p)) for p in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with FeedbackStorage(postgres_url) as storage:
        assert storage.count() == 4 * 400
        assert storage.execute_query("SELECT COUNT(DISTINCT id) FROM feedback")[0][0] == 1600
        assert all(storage.count(task_id=f"p{p}") == 400 for p in range(4))
        assert storage.verify_rollups() == []
        assert storage.get_summary().total_count == 1600


def _terminate(application: str) -> None:
    import psycopg

    from tests.conftest import POSTGRES_URL

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application,),
        )


def test_a_lost_connection_is_retried_for_reads_and_clear_for_writes(
    postgres_url: str, make_entry: MakeEntry
) -> None:
    application = f"feedback-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={quote(application)}"
    with FeedbackStorage(url, pool_size=1) as storage:
        kept = storage.create(make_entry())
        _terminate(application)
        assert storage.get(kept.id) == kept  # the read was retried on a new connection
        _terminate(application)
        with pytest.raises(FeedbackError, match="lost the connection"):
            storage.create(make_entry())
        assert storage.get(kept.id) == kept  # nothing committed was lost


def test_background_writes_wait_out_lost_connections(
    postgres_url: str, make_entry: MakeEntry, caplog: pytest.LogCaptureFixture
) -> None:
    application = f"feedback-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={quote(application)}"
    with FeedbackStorage(url, pool_size=2, batch_window=0.01) as storage:
        storage.submit(make_entry())
        assert storage.flush(timeout=30) is True  # the pool's connections are in use now
        _terminate(application)  # a server restart, say
        for _ in range(20):
            storage.submit(make_entry())
        assert storage.flush(timeout=30) is True  # no entry failed: the writer waited
        assert storage.count() == 21
    assert any("takes no writes" in record.getMessage() for record in caplog.records)


def test_passwords_are_hidden_in_messages() -> None:
    assert hide_password("postgresql://me:s3cret@db/x") == "postgresql://me:***@db/x"
    assert hide_password("postgresql://me@db/x") == "postgresql://me@db/x"


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(
        FeedbackError, match=re.escape("cannot connect to postgresql://nobody:***@127.0.0.1:1/x")
    ):
        FeedbackStorage("postgresql://nobody:pw@127.0.0.1:1/x", timeout=1)


def test_a_missing_extra_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from orchestrator_feedback import FeedbackStorage, FeedbackError\n"
        "try:\n    FeedbackStorage('postgresql://x@127.0.0.1/x')\n"
        "except FeedbackError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ}
    )
    assert "pip install 'orchestrator-feedback[postgres]'" in result.stdout


def test_the_indexes_match_sqlites_and_serve_a_worker_filter(
    postgres_url: str, make_entry: Callable[..., FeedbackEntry]
) -> None:
    """Schema 3: no redundant idx_task_id, a partial idx_user_id, no GIN index over all of
    metadata, and an index on the worker that `metadata->>'worker_id' = ...` uses. Migrated
    from a database at schema 2."""
    import psycopg

    from orchestrator_feedback.storage.backends.postgres_schema import MIGRATIONS

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE feedback_schema (version INTEGER NOT NULL)")
        for _number, statements in MIGRATIONS[:2]:
            for statement in statements:
                connection.execute(statement)
        connection.execute("INSERT INTO feedback_schema VALUES (2)")
    with FeedbackStorage(postgres_url) as storage:
        assert storage.schema_version == SCHEMA_VERSION
        storage.create_many(make_entry(metadata={"worker_id": f"w{n % 7}"}) for n in range(50))
        names = {
            row[0]
            for row in storage.execute_query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'feedback' "
                "AND schemaname = current_schema()"
            )
        }
        assert names == {
            "feedback_pkey",
            "idx_feedback_type",
            "idx_created_at",
            "idx_task_type_rating",
            "idx_user_id",
            "idx_worker_id",
        }
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("SET enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                "EXPLAIN SELECT id FROM feedback WHERE metadata->>'worker_id' = 'w3'"
            )
        )
        assert "idx_worker_id" in plan


def test_an_import_larger_than_one_copy_is_followed_entry_by_entry(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import writes at most ``ROWS_PER_COPY`` rows a COPY statement (each statement's
    triggers gather its rows: one array of ids for a whole import failed past about
    26,800,000), and the commit log numbers each statement's ids in order: a follower that
    started before the import reads every entry once, in the file's order; one that starts
    after any of them reads on from there."""
    from orchestrator_feedback.storage.backends import postgres_rows

    monkeypatch.setattr(postgres_rows, "ROWS_PER_COPY", 3)
    entries = [
        FeedbackEntry(task_id=f"t{n}", feedback_type=FeedbackType.GENERAL, content=f"c{n}")
        for n in range(10)
    ]
    dump = tmp_path / "entries.jsonl"
    with FeedbackStorage(tmp_path / "source.db") as source:
        source.create_many(entries)
        source.export_jsonl(dump)
    with FeedbackStorage(postgres_url) as storage:
        before = storage.follow(poll=0.05)
        assert storage.import_jsonl(dump) == 10
        parts = storage.execute_query(
            "SELECT count(*), count(DISTINCT txid) FROM feedback_follow_commits"
        )
        assert parts == [(4, 1)]  # 3 + 3 + 3 + 1 rows: four statements of one commit
        assert [next(before).id for _ in range(10)] == [e.id for e in entries]
        after_fifth = storage.follow(since=entries[4].id, poll=0.05)
        assert [next(after_fifth).id for _ in range(5)] == [e.id for e in entries[5:]]
        storage.create(FeedbackEntry(task_id="next", feedback_type="general", content="n"))
        assert next(before).task_id == next(after_fifth).task_id == "next"
        assert storage.verify_rollups() == []


def test_a_long_fold_leaves_the_deltas_table_small(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer reads the deltas table whole: after a fold of many steps what is still
    pending is folded and the table rewritten, so the pages its dead rows took are not
    read again by every answer (VACUUM alone only marks them free)."""
    from orchestrator_feedback.storage.backends import postgres, postgres_rollups

    monkeypatch.setattr(postgres_rollups, "FOLD_AT", 10)
    monkeypatch.setattr(postgres_rollups, "FOLD_STEP_ROWS", 50)
    monkeypatch.setattr(postgres, "_VACUUM_AFTER_STEPS", 3)
    monkeypatch.setattr(postgres, "_REWRITE_DELTAS_PAST", 4 * 8192)  # rewritten: VACUUM FULL
    with FeedbackStorage(postgres_url) as storage:
        for n in range(600):  # a statement each: a delta row each
            storage.create(
                FeedbackEntry(
                    task_id=f"t{n}",
                    feedback_type=FeedbackType.TASK_COMPLETION,
                    content="ok",
                    metadata={"worker_id": f"w{n % 7}", "task_type": f"k{n % 5}"},
                )
            )
        size = "SELECT pg_relation_size('feedback_rollup_deltas')"
        [(before,)] = storage.execute_query(size)
        assert storage.get_summary().total_count == 600  # folds, in steps, then vacuums
        [(after,)] = storage.execute_query(size)
        assert before >= 10 * 8192 and after == 0, (before, after)
        assert storage.verify_rollups() == []
        # And the planner learns the tables' sizes: with autovacuum off (as on this
        # project's machines) nothing else analyzes them, and the plans went bad.
        analyzed = storage.execute_query(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        )
        assert {"feedback", "feedback_rollup_scores"} <= {row[0] for row in analyzed}
        vacuumed = storage.execute_query(
            "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL"
        )
        assert {"feedback_rollup_scores", "feedback_rollup_decayed"} <= {
            row[0] for row in vacuumed
        }
