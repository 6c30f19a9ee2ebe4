"""The decayed sums a store keeps per half-life, worker and task type (``backends/decayed.py``),
on every backend: the same scores as reading every day, through inserts, updates, deletions,
purges and folds; a row a worker and task type whatever the store's age; checked and rebuilt
by ``rollups``; and the one weight rule rendered in SQL equal to the Python one."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage
from orchestrator_feedback.storage.backends import decayed, postgres_rollups, sqlite_rollups
from orchestrator_feedback.storage.scores import _weight
from tests.conftest import built_decayed_sums, open_store

MakeEntry = Callable[..., FeedbackEntry]

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fold_often(monkeypatch: pytest.MonkeyPatch) -> None:
    # Most of these entries are folded into the rollups (and so into the sums) by the next
    # read, some are read from the tail or the pending deltas: both ways are checked.
    monkeypatch.setattr(sqlite_rollups, "FOLD_AT", 5)
    monkeypatch.setattr(postgres_rollups, "FOLD_AT", 5)


def _history(make_entry: MakeEntry, count: int, seed: int) -> list[FeedbackEntry]:
    draw = random.Random(seed)
    entries = []
    for number in range(count):
        metadata: dict[str, object] = {
            "worker_id": f"w{draw.randrange(4)}",
            "task_type": f"t{draw.randrange(3)}",
            "success": draw.random() < 0.7,
        }
        if draw.random() < 0.5:
            metadata["execution_time"] = round(draw.uniform(0.1, 9.0), 3)
        kind = draw.choice(["task_completion", "task_completion", "error_report", "task_quality"])
        entries.append(
            make_entry(
                task_id=f"task-{number}",
                feedback_type=kind,
                rating=draw.randint(1, 5) if kind == "task_quality" else None,
                metadata=metadata,
                created_at=NOW - timedelta(days=draw.uniform(0.5, 90)),
            )
        )
    return entries


def _scores(storage: FeedbackStorage, **options: Any) -> dict[str, tuple[float, ...]]:
    return {
        s.worker_id: (
            s.successes,
            s.failures,
            s.ratings,
            s.mean_rating or 0.0,
            s.mean_execution_time or 0.0,
        )
        for s in storage.worker_scores(now=NOW, **options)
    }


def _assert_same(kept: dict[str, tuple[float, ...]], read: dict[str, tuple[float, ...]]) -> None:
    """Equal within the moments' bound: each is within 0.6% of the sum entry by entry
    (docs/scores.md), the kept sums weighing a day's folded part and its tail apart, the
    days' reading weighing a day's task types and tail as one."""
    assert kept.keys() == read.keys()
    for worker, values in kept.items():
        assert values == pytest.approx(read[worker], rel=1e-3, abs=1e-12), worker


def _read_from_days(storage: FeedbackStorage, **options: Any) -> dict[str, tuple[float, ...]]:
    """The same scores read from every day of the scores rollup (a window from long ago
    is never answered from kept sums)."""
    return _scores(storage, since=LONG_AGO, **options)


def test_kept_sums_answer_as_every_day_does_through_every_change(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    entries = _history(make_entry, 300, seed=1)
    storage.create_many(entries[:200])
    built_decayed_sums(storage, WEEK)
    for task_type in (None, "t1"):
        _assert_same(
            _scores(storage, half_life=WEEK, task_type=task_type),
            _read_from_days(storage, half_life=WEEK, task_type=task_type),
        )
    # Every kind of change after the sums are built: new entries, updates, deletions.
    storage.create_many(entries[200:])
    changed = max(entries[:10], key=lambda entry: entry.created_at)
    storage.update(
        make_entry(
            id=changed.id,
            task_id=changed.task_id,
            feedback_type="task_completion",
            metadata={**changed.metadata, "worker_id": "w9", "success": False},
            created_at=changed.created_at,
        )
    )
    for entry in entries[10:60]:
        storage.delete(entry.id)
    storage.delete_by_task(entries[70].task_id)
    storage.purge(older_than=datetime.now(UTC) - (NOW - timedelta(days=60)))
    kept = _scores(storage, half_life=WEEK)
    assert "w9" in kept
    _assert_same(kept, _read_from_days(storage, half_life=WEEK))
    # A new store on the same database (a new process) reads the same sums.
    assert storage.verify_rollups() == []


def test_a_worker_whose_outcomes_are_all_deleted_has_none_left(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    entries = [
        make_entry(
            task_id=f"task-{n}",
            metadata={"worker_id": "gone" if n % 2 else "kept", "success": n % 3 != 0},
            created_at=NOW - timedelta(days=n),
        )
        for n in range(1, 40)
    ]
    storage.create_many(entries)
    built_decayed_sums(storage, WEEK)
    assert "gone" in _scores(storage, half_life=WEEK)
    for entry in entries:
        if entry.metadata["worker_id"] == "gone":
            storage.delete(entry.id)
    storage.create(
        make_entry(
            task_id="alloc", feedback_type="general", metadata={"worker_id": "gone"}, created_at=NOW
        )
    )
    scores = {s.worker_id: s for s in storage.worker_scores(now=NOW, half_life=WEEK)}
    # Listed (an entry names it), with exactly no outcome, as reading the days says.
    assert scores["gone"].attempts == 0 and scores["gone"].success_rate is None
    _assert_same(_scores(storage, half_life=WEEK), _read_from_days(storage, half_life=WEEK))


def test_sums_kept_far_behind_are_brought_forward(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many(_history(make_entry, 120, seed=2))
    half_life = timedelta(days=1)
    built_decayed_sums(storage, half_life)  # with today as their reference day
    later = datetime.now(UTC) + timedelta(days=40)  # 40 half-lives on: to be brought forward
    storage.create(
        make_entry(
            task_id="late",
            metadata={"worker_id": "w1", "success": True},
            created_at=later - timedelta(hours=3),
        )
    )
    kept = {s.worker_id: s.successes for s in storage.worker_scores(now=later, half_life=half_life)}
    read = {
        s.worker_id: s.successes
        for s in storage.worker_scores(since=LONG_AGO, now=later, half_life=half_life)
    }
    assert kept == pytest.approx(read, rel=1e-9, abs=1e-15)
    assert storage.verify_rollups() == []


def test_half_lives_past_the_most_kept_are_read_from_the_days(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many(_history(make_entry, 80, seed=3))
    for days in range(1, decayed.MOST_HALF_LIVES + 3):
        half_life = timedelta(days=days)
        _assert_same(
            _scores(storage, half_life=half_life), _read_from_days(storage, half_life=half_life)
        )
    assert storage.verify_rollups() == []


def test_rollups_verify_finds_a_wrong_sum_and_rebuild_mends_it(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    storage = open_store(backend_kind, tmp_path, request)
    storage.create_many(_history(make_entry, 60, seed=4))
    built_decayed_sums(storage, WEEK)
    right = _scores(storage, half_life=WEEK)
    storage.execute_query(
        "UPDATE feedback_rollup_decayed SET successes = successes + 3 WHERE worker = 'w1'",
        read_only=False,
    )
    problems = storage.verify_rollups()
    assert problems and all("feedback_rollup_decayed" in line for line in problems)
    storage.rebuild_rollups()
    assert storage.verify_rollups() == []
    storage.close()
    if backend_kind != "sqlite-memory":  # a new process on the same database
        reopened = open_store(backend_kind, tmp_path, request)
        built_decayed_sums(reopened, WEEK)
        _assert_same(_scores(reopened, half_life=WEEK), right)
        reopened.close()


def test_the_sums_have_a_row_a_worker_and_task_type_whatever_the_days(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    storage = FeedbackStorage(tmp_path / "f.db")
    storage.create_many(
        make_entry(
            task_id=f"task-{n}",
            metadata={"worker_id": f"w{n % 3}", "task_type": "t", "success": True},
            created_at=NOW - timedelta(days=n % 199, hours=n % 24),
        )
        for n in range(2_000)
    )
    built_decayed_sums(storage, WEEK)
    storage.close()
    with sqlite3.connect(tmp_path / "f.db") as connection:
        (days,) = connection.execute("SELECT count(*) FROM feedback_rollup_scores").fetchone()
        (sums,) = connection.execute("SELECT count(*) FROM feedback_rollup_decayed").fetchone()
    assert days > 500 and sums == 3


_CASES = [
    # (count, mean time of day, spread, days from the day's start to t_ref, half-life days)
    (1, 0.3, 0.0, 10.0, 7.0),
    (5, 0.5, 0.08, 0.0, 1.0),
    (12, 0.9, 0.01, -3.0, 30.0),
    (3, 0.2, 0.05, 0.4, 0.25),
    (40, 0.6, 0.2, 400.0, 2.0),
    (2, 0.1, 0.0, -2000.0, 1.0),
]


def _sql_weight(connection: Any, dialect: decayed.Dialect, values: tuple[float, ...]) -> float:
    count, mean, spread, age0, half_life = values
    f, ff = count * mean, count * (spread + mean * mean)
    literal = {"n": str(count), "f": repr(f), "ff": repr(ff)}
    ref, day = (
        ("julianday('2026-01-01')", f"(julianday('2026-01-01') - ({age0!r}))")
        if dialect is decayed.SQLITE
        else ("0.0::float8", f"(0.0 - ({age0!r}))::float8")
    )
    weights = decayed.day_weights(
        lambda name: {
            "successes": literal["n"],
            "success_f": literal["f"],
            "success_ff": literal["ff"],
        }.get(name, "0"),
        "DAY",
        "REF",
        repr(half_life),
        dialect,
    )
    sql = weights["successes"]
    if dialect is decayed.SQLITE:
        sql = sql.replace("julianday(REF)", ref).replace("julianday(DAY)", day)
    else:
        sql = sql.replace("(REF - DAY)", f"({ref} - {day})")
    (value,) = connection.execute(f"SELECT {sql}").fetchone()
    return float(value)


@pytest.mark.parametrize("values", _CASES)
def test_the_weight_rule_reads_the_same_in_sqlite_as_in_python(values: tuple[float, ...]) -> None:
    count, mean, spread, age0, half_life = values
    expected = _weight(
        count, count * mean, count * (spread + mean * mean), age0, math.log(2) / half_life
    )
    got = _sql_weight(sqlite3.connect(":memory:"), decayed.SQLITE, values)
    # julianday() counts from 4714 BC: a fraction of a day keeps about 1e-10 of its digits.
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("values", _CASES)
def test_the_weight_rule_reads_the_same_in_postgresql_as_in_python(
    values: tuple[float, ...], postgres_url: str
) -> None:
    import psycopg

    connection = psycopg.connect(postgres_url)
    count, mean, spread, age0, half_life = values
    expected = _weight(
        count, count * mean, count * (spread + mean * mean), age0, math.log(2) / half_life
    )
    with connection:
        got = _sql_weight(connection, decayed.POSTGRES, values)
    assert got == pytest.approx(expected, rel=1e-12)


def test_rebase_is_due_after_sixteen_half_lives_and_at_least_a_day() -> None:
    start = date(2026, 1, 1)
    assert not decayed.rebase_due(start, start + timedelta(days=15), 1.0)
    assert decayed.rebase_due(start, start + timedelta(days=16), 1.0)
    assert not decayed.rebase_due(start, start, 0.01)
    assert decayed.rebase_due(start, start + timedelta(days=1), 0.01)


def test_an_ask_while_another_process_holds_the_write_lock_reads_the_days(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    path = tmp_path / "f.db"
    with FeedbackStorage(path) as storage:
        storage.create_many(_history(make_entry, 60, seed=5))
        read = _read_from_days(storage, half_life=WEEK)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a long import, say
    try:
        with FeedbackStorage(path) as storage:
            _assert_same(_scores(storage, half_life=WEEK), read)  # no error, no wait
    finally:
        blocker.execute("ROLLBACK")
    with FeedbackStorage(path) as storage:
        built_decayed_sums(storage, WEEK)
        _assert_same(_scores(storage, half_life=WEEK), read)
    (kept,) = blocker.execute("SELECT count(*) FROM feedback_rollup_decay").fetchone()
    assert kept == 1


def test_a_builder_that_falls_behind_another_adds_nothing_twice(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    """Two processes building the same half-life: a step one chose before the other went
    past it must neither count those days again nor move the build's mark back."""
    from orchestrator_feedback.storage.backends import sqlite_decayed

    path = tmp_path / "f.db"
    with FeedbackStorage(path) as storage:
        storage.create_many(_history(make_entry, 200, seed=6))
        read = _read_from_days(storage, half_life=WEEK)
    days = WEEK / timedelta(days=1)
    connection = sqlite3.connect(path, isolation_level=None)
    sqlite_decayed._write(
        connection, (sqlite_decayed._REGISTER,), half_life=days, t_ref=NOW.date().isoformat()
    )
    (first,) = connection.execute("SELECT min(day) FROM feedback_rollup_scores").fetchone()
    behind, ahead = (
        date.fromisoformat(first) + timedelta(days=10),
        date.fromisoformat(first) + timedelta(days=40),
    )
    sqlite_decayed._write(
        connection, sqlite_decayed._BUILD_STEP, half_life=days, through=str(ahead)
    )
    sqlite_decayed._write(
        connection, sqlite_decayed._BUILD_STEP, half_life=days, through=str(behind)
    )
    (mark,) = connection.execute("SELECT built_through FROM feedback_rollup_decay").fetchone()
    assert mark == str(ahead)
    assert sqlite_decayed.settle(connection, days, NOW.date(), build=True) is not None
    connection.close()
    with FeedbackStorage(path) as storage:
        assert storage.verify_rollups() == []
        _assert_same(_scores(storage, half_life=WEEK), read)
