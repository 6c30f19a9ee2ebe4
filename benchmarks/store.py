"""The store's benchmarks (issue: the store): create, create_many, get_by_task,
get_summary and import_jsonl, each against raw sqlite3 on the same schema."""

from __future__ import annotations

import itertools
import os
import sqlite3
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from benchmarks.timing import Comparison, compare, fmt
from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.serialization import entry_to_row
from orchestrator_feedback.storage.backends.sqlite_schema import apply_migrations

INSERT = (
    "INSERT INTO feedback (id, task_id, feedback_type, content, rating, user_id, metadata, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_counter = itertools.count()


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection on the same schema, WAL and synchronous=NORMAL."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    apply_migrations(connection, connection.execute("PRAGMA user_version").fetchone()[0])
    connection.commit()
    return connection


def make_entry(task_id: str | None = None) -> FeedbackEntry:
    """An entry like an orchestrator's: a rating, a worker and two numbers of metadata."""
    number = next(_counter)
    return FeedbackEntry(
        task_id=task_id or f"task-{number % 50_000}",
        feedback_type=FeedbackType.TASK_COMPLETION,
        content="Task completed successfully with high quality output",
        rating=number % 5 + 1,
        user_id="user-456",
        metadata={"worker_id": f"worker-{number % 16}", "execution_time": 45.3},
    )


def raw_row() -> tuple[object, ...]:
    """The same data as ``make_entry``, as the raw baseline builds it itself."""
    return entry_to_row(make_entry())


def bench_create(workdir: Path, rounds: int) -> Comparison:
    storage = FeedbackStorage(workdir / "create-ours.db")
    raw = raw_connection(workdir / "create-raw.db")
    entries = iter([make_entry() for _ in range(rounds * 700 + 200)])
    rows = iter([raw_row() for _ in range(rounds * 700 + 200)])

    def raw_insert() -> None:
        raw.execute(INSERT, next(rows))
        raw.commit()

    try:
        return compare(
            "create (one entry, committed)",
            lambda: storage.create(next(entries)),
            raw_insert,
            calls=500,
            rounds=rounds,
            limit=1.5,
        )
    finally:
        storage.close()
        raw.close()


def bench_create_many(workdir: Path, rounds: int) -> Comparison:
    storage = FeedbackStorage(workdir / "many-ours.db")
    raw = raw_connection(workdir / "many-raw.db")
    batches = iter([[make_entry() for _ in range(100)] for _ in range(rounds * 25 + 10)])
    row_batches = iter([[raw_row() for _ in range(100)] for _ in range(rounds * 25 + 10)])

    def raw_insert_many() -> None:
        raw.executemany(INSERT, next(row_batches))
        raw.commit()

    try:
        return compare(
            "create_many (100 entries, one commit)",
            lambda: storage.create_many(next(batches)),
            raw_insert_many,
            calls=20,
            rounds=rounds,
            limit=1.5,
        )
    finally:
        storage.close()
        raw.close()


def build_large_store(path: Path, total: int) -> None:
    """Fill ``path`` with ``total`` entries: tasks of 10, and one task of 1,000."""
    raw = raw_connection(path)
    if raw.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] >= total:
        raw.close()
        return
    raw.execute("DELETE FROM feedback")
    template = list(entry_to_row(make_entry()))

    def rows() -> Iterator[tuple[object, ...]]:
        for number in range(total):
            row = template.copy()
            row[0] = str(uuid.uuid4())
            row[1] = "big-task" if number < 1000 else f"task-{number // 10}"
            row[4] = number % 5 + 1
            yield tuple(row)

    raw.executemany(INSERT, rows())
    raw.commit()
    raw.execute("ANALYZE")
    raw.close()


def bench_queries(path: Path, rounds: int) -> list[Comparison]:
    storage = FeedbackStorage(path)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    tasks = itertools.cycle([f"task-{n}" for n in range(500, 90_000, 7)])
    select = (
        "SELECT id, task_id, feedback_type, content, rating, user_id, metadata, created_at, "
        "updated_at FROM feedback WHERE task_id = ? ORDER BY created_at, id"
    )
    summary = (
        "SELECT feedback_type, rating, COUNT(*) FROM feedback WHERE task_id = ? "
        "GROUP BY feedback_type, rating"
    )
    try:
        return [
            compare(
                "get_by_task (10 of 1,000,000)",
                lambda: storage.get_by_task(next(tasks)),
                lambda: raw.execute(select, (next(tasks),)).fetchall(),
                calls=500,
                rounds=rounds,
                limit=2.0,
            ),
            compare(
                "get_summary (task of 1,000)",
                lambda: storage.get_summary("big-task"),
                lambda: raw.execute(summary, ("big-task",)).fetchall(),
                calls=300,
                rounds=rounds,
                limit=1.5,
            ),
        ]
    finally:
        storage.close()
        raw.close()


def bench_import(workdir: Path, count: int, rounds: int) -> str:
    source = workdir / "import-source.db"
    dump = workdir / "import.jsonl"
    with FeedbackStorage(source) as storage:
        storage.create_many(make_entry() for _ in range(count))
        storage.export_jsonl(dump)
    rows = [raw_row() for _ in range(count)]
    rates, raw_rates = [], []
    for round_number in range(rounds):
        target = workdir / f"import-{round_number}.db"
        with FeedbackStorage(target) as storage:
            start = time.perf_counter()
            storage.import_jsonl(dump)
            rates.append(count / (time.perf_counter() - start))
        _remove(target)
        raw = raw_connection(target)
        start = time.perf_counter()
        raw.executemany(INSERT, rows)  # rows already built in memory: no parsing at all
        raw.commit()
        raw_rates.append(count / (time.perf_counter() - start))
        raw.close()
        _remove(target)
    median, raw_median = statistics.median(rates), statistics.median(raw_rates)
    verdict = "ok" if median >= 60_000 else "UNDER"
    return (
        f"{'import_jsonl (' + format(count, ',') + ' entries)':<44} {median:,.0f} entries/s "
        f"(floor 60,000, {verdict}; rounds {min(rates):,.0f}-{max(rates):,.0f}; "
        f"{fmt(count / median)} in all); raw executemany of prebuilt rows "
        f"{raw_median:,.0f} rows/s, ours {median / raw_median:.2f}x of that"
    )


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run every store benchmark; return the printable lines."""
    rounds = 3 if quick else 7
    lines = [bench_create(workdir, rounds).line(), bench_create_many(workdir, rounds).line()]
    large = Path(os.environ.get("BENCH_LARGE_DB", workdir / "large.db"))
    build_large_store(large, 20_000 if quick else 1_000_000)
    lines += [comparison.line() for comparison in bench_queries(large, rounds)]
    lines.append(bench_import(workdir, 10_000 if quick else 100_000, 3))
    return lines
