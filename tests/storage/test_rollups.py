"""Rollups: after any sequence of writes, by any path, the whole-store summary, the workers
and the trends equal a recompute from the entries, and ``verify_rollups`` finds nothing."""

from __future__ import annotations

import io
import json
import sqlite3
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.cli import cli
from orchestrator_feedback.serialization import entry_to_row, parse_timestamp
from orchestrator_feedback.storage.backends.sqlite_schema import MIGRATIONS
from tests.conftest import BACKENDS, built_decayed_sums, open_store

NOW = datetime.now(UTC)
TREND_DAYS = 30
# Moments around the trend's cutoff (now - 30 days) and the hours on either side of it,
# kept ten minutes clear of it: the test's clock and the store's differ by milliseconds.
MOMENTS = [
    NOW - timedelta(days=TREND_DAYS) + offset
    for offset in (
        timedelta(minutes=-70),
        timedelta(minutes=-10),
        timedelta(minutes=10),
        timedelta(minutes=50),
        timedelta(hours=3),
    )
] + [NOW - timedelta(days=days, hours=hours) for days in (0, 1, 6, 40) for hours in (0, 5)]
WORKERS = ["w1", "w2", "tcp://10.0.0.1:4000", 7, "7", None]

entries = st.builds(
    FeedbackEntry,
    task_id=st.sampled_from(["t1", "t2", "t3"]),
    feedback_type=st.sampled_from(FeedbackType),
    content=st.just("c"),
    rating=st.none() | st.integers(1, 5),
    user_id=st.sampled_from([None, "alice", "bob"]),
    metadata=st.fixed_dictionaries(
        {},
        optional={
            "worker_id": st.sampled_from(WORKERS),  # None: JSON null, no worker
            "task_type": st.sampled_from(["resize", "ocr", 3]),
            "success": st.sampled_from([True, False, 1, "yes", None]),
            "execution_time": st.sampled_from([0.25, 3, 1e-7, "fast", None, 123456.789]),
            "error_type": st.sampled_from(["Timeout", "OOM", 5]),
        },
    ),
    created_at=st.sampled_from(MOMENTS),
)


INSERT_AS_SQLITE_DOES = "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def sqlite_row(entry: FeedbackEntry) -> tuple[Any, ...]:
    """``entry`` as another program writes it into the seed's table."""
    return entry_to_row(entry)


def expected_summary(stored: list[FeedbackEntry]) -> tuple[Any, ...]:
    by_type = {t: sum(e.feedback_type is t for e in stored) for t in FeedbackType}
    ratings = [e.rating for e in stored if e.rating is not None]
    distribution = {r: ratings.count(r) for r in range(1, 6)}
    return len(stored), statistics.fmean(ratings) if ratings else None, distribution, by_type


def expected_workers(stored: list[FeedbackEntry]) -> list[tuple[str, int, float | None, int]]:
    groups: dict[str, list[FeedbackEntry]] = defaultdict(list)
    for entry in stored:
        worker = entry.metadata.get("worker_id")
        if worker is not None:
            groups[str(worker)].append(entry)  # 7 and "7" are one worker, "7"
    rows = []
    for worker, group in groups.items():
        ratings = [e.rating for e in group if e.rating is not None]
        failures = sum(e.feedback_type is FeedbackType.ERROR_REPORT for e in group)
        rows.append(
            (str(worker), len(group), statistics.fmean(ratings) if ratings else None, failures)
        )
    return sorted(rows, key=lambda r: (r[2] is None, -(r[2] or 0), r[3], -r[1], r[0]))


RATED_TYPES = set(FeedbackType)  # docs/scores.md: every type, unless configured otherwise


def expected_scores(stored: list[FeedbackEntry]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Per day, worker and task type, as the scores rollup defines them: entries; successes,
    failures, ratings and the rating sum, each with the sums of f and f * f (f: the time
    of day as a fraction of the day); timed entries and their time; the newest outcome."""
    sums: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0] * 15 + [None])
    for entry in stored:
        metadata = entry.metadata
        if metadata.get("worker_id") is None:
            continue
        task_type = metadata.get("task_type")
        created = entry.created_at
        key = (
            created.strftime("%Y-%m-%d"),
            str(metadata["worker_id"]),
            "" if task_type is None else str(task_type),
        )
        f = (created.hour * 3600 + created.minute * 60 + created.second) / 86400 + (
            created.microsecond / 86400e6
        )
        completion = entry.feedback_type is FeedbackType.TASK_COMPLETION
        flag = metadata.get("success", True)
        success = completion and flag is True
        failure = entry.feedback_type is FeedbackType.ERROR_REPORT or (completion and flag is False)
        rated = entry.rating is not None and entry.feedback_type in RATED_TYPES
        rating = (entry.rating or 0) if rated else 0
        elapsed = metadata.get("execution_time")
        timed = isinstance(elapsed, int | float) and not isinstance(elapsed, bool)
        row = sums[key]
        row[0] += 1
        for start, measure in ((1, success), (4, failure), (7, rated), (10, rating)):
            row[start] += measure
            row[start + 1] += measure * f
            row[start + 2] += measure * f * f
        row[13] += timed
        row[14] += float(elapsed) if timed else 0.0
        if success or failure or rated:
            row[15] = created if row[15] is None else max(row[15], created)
    return {key: tuple(values) for key, values in sums.items()}


def expected_trends(stored: list[FeedbackEntry]) -> dict[str, tuple[float | None, int]]:
    since = NOW - timedelta(days=TREND_DAYS)
    days: dict[str, list[FeedbackEntry]] = defaultdict(list)
    for entry in stored:
        if entry.created_at >= since:
            days[entry.created_at.strftime("%Y-%m-%d")].append(entry)
    result = {}
    for day, group in days.items():
        ratings = [e.rating for e in group if e.rating is not None]
        result[day] = (statistics.fmean(ratings) if ratings else None, len(group))
    return result


def expected_failures(
    recent: list[FeedbackEntry], task_type: str | None
) -> tuple[int, int, dict[str, tuple[int, datetime]]]:
    """Successes, failures and per failure group its count and newest, by the rules."""
    successes, groups = 0, {}
    for entry in recent:
        named = entry.metadata.get("task_type")
        if task_type is not None and ("" if named is None else str(named)) != task_type:
            continue
        flag = entry.metadata.get("success", True)
        if entry.feedback_type is FeedbackType.ERROR_REPORT:
            group = str(entry.metadata.get("error_type", "Unknown"))
        elif entry.feedback_type is FeedbackType.TASK_COMPLETION and flag is False:
            group = "success: false"
        else:
            successes += entry.feedback_type is FeedbackType.TASK_COMPLETION and flag is True
            continue
        count, newest = groups.get(group, (0, entry.created_at))
        groups[group] = (count + 1, max(newest, entry.created_at))
    return successes, sum(count for count, _ in groups.values()), groups


def _groups(report: Any) -> dict[str, tuple[int, datetime]]:
    return {g.error_type: (g.count, g.newest_at) for g in report.groups}


def same_average(got: float | None, want: float | None) -> bool:
    """Both None, or equal to 1e-9."""
    if got is None or want is None:
        return got is want
    return abs(got - want) <= 1e-9


def assert_answers_match_the_entries(storage: FeedbackStorage) -> None:
    stored = storage.get_all()
    summary = storage.get_summary()
    total, average, distribution, by_type = expected_summary(stored)
    assert summary.total_count == total
    assert summary.rating_distribution == distribution
    assert summary.feedback_by_type == by_type
    assert same_average(summary.average_rating, average)
    workers = [(w.worker_id, w.count, w.average_rating, w.failures) for w in storage.worker_stats()]
    expected = expected_workers(stored)
    assert [w[0] for w in workers] == [w[0] for w in expected]  # best first, the same order
    for got, want in zip(workers, expected, strict=True):
        assert got[:2] == want[:2] and got[3] == want[3]
        assert same_average(got[2], want[2])
    trends = {p.period: (p.average_rating, p.count) for p in storage.trends(TREND_DAYS)}
    want_trends = expected_trends(stored)
    assert trends.keys() == want_trends.keys()
    for day, (average_rating, count) in trends.items():
        assert count == want_trends[day][1]
        assert same_average(average_rating, want_trends[day][0])
    # Over a period (the hours and days of its rollups, the partial ones from the entries).
    since = NOW - timedelta(days=TREND_DAYS)
    recent = [e for e in stored if e.created_at >= since]
    summary = storage.get_summary(since=since)
    total, average, distribution, by_type = expected_summary(recent)
    assert (summary.total_count, summary.rating_distribution) == (total, distribution)
    assert summary.feedback_by_type == by_type
    assert same_average(summary.average_rating, average)
    for task_type in (None, "ocr", "3"):
        report = storage.failures(since=since, task_type=task_type)
        assert (report.successes, report.failures, _groups(report)) == expected_failures(
            recent, task_type
        )


class WritesKeepRollupsTrue(RuleBasedStateMachine):
    """Random writes by every path; after each step the answers equal a recompute."""

    storage: FeedbackStorage
    kind: str
    path: Path

    def __init__(self) -> None:
        super().__init__()
        self.storage.execute_query("DELETE FROM feedback")
        self.storage.rebuild_rollups()

    def _ids(self) -> list[str]:
        rows = self.storage.execute_query("SELECT id FROM feedback ORDER BY id")
        return [row[0] for row in rows]

    @rule(entry=entries)
    def create(self, entry: FeedbackEntry) -> None:
        self.storage.create(entry)

    @rule(batch=st.lists(entries, max_size=5))
    def create_many(self, batch: list[FeedbackEntry]) -> None:
        self.storage.create_many(batch)

    @rule(batch=st.lists(entries, max_size=5))
    def submit(self, batch: list[FeedbackEntry]) -> None:
        for entry in batch:
            self.storage.submit(entry)
        self.storage.flush()

    @rule(batch=st.lists(entries, max_size=5), replace=st.booleans())
    def import_jsonl(self, batch: list[FeedbackEntry], replace: bool) -> None:
        stored = self.storage.get_all()[:2] if replace else []
        changed = [
            FeedbackEntry.from_dict({**e.to_dict(), "rating": 5, "metadata": {"worker_id": "w9"}})
            for e in stored
        ]
        lines = "".join(json.dumps(e.to_dict()) + "\n" for e in [*batch, *changed])
        self.storage.import_jsonl(io.StringIO(lines), on_conflict="replace")

    # Rows are picked by a drawn number, not drawn from what is stored: the draws must not
    # depend on the database (hypothesis replays them).
    @rule(
        pick=st.integers(0, 1_000),
        rating=st.none() | st.integers(1, 5),
        kind=st.sampled_from(FeedbackType),
        worker=st.sampled_from(WORKERS),
        moment=st.sampled_from(MOMENTS),
    )
    def update(self, pick: int, rating: Any, kind: Any, worker: Any, moment: Any) -> None:
        stored = self.storage.get_all()
        if not stored:
            return
        entry = stored[pick % len(stored)]
        entry.rating, entry.feedback_type = rating, kind
        entry.metadata = {} if worker is None else {"worker_id": worker}
        entry.created_at = moment
        self.storage.update(entry)

    @rule(pick=st.integers(0, 1_000))
    def delete(self, pick: int) -> None:
        ids = self._ids()
        if ids:
            self.storage.delete(ids[pick % len(ids)])

    @rule(task_id=st.sampled_from(["t1", "t2", "t3"]))
    def delete_by_task(self, task_id: str) -> None:
        self.storage.delete_by_task(task_id)

    @rule(days=st.sampled_from([3, 35]))
    def purge(self, days: int) -> None:
        self.storage.purge(timedelta(days=days))

    @rule(user=st.sampled_from(["alice", "bob"]))
    def forget_user(self, user: str) -> None:
        self.storage.forget_user(user)

    @rule(pick=st.integers(0, 1_000), rating=st.integers(1, 5), updating=st.booleans())
    def users_own_sql(self, pick: int, rating: int, updating: bool) -> None:
        """Writes through execute_query (as ``query --write`` does) keep them true too."""
        ids = self._ids()
        if not ids:
            return
        chosen = ids[pick % len(ids)]
        mark = "%s" if self.kind == "postgres" else "?"
        statement = (
            f"UPDATE feedback SET rating = {mark} WHERE id = {mark}"
            if updating
            else f"DELETE FROM feedback WHERE id = {mark} AND rating <> {mark}"
        )
        params = [rating, chosen] if statement.startswith("UPDATE") else [chosen, rating]
        self.storage.execute_query(statement, params)

    @rule()
    def fold(self) -> None:
        """Everything folded in: the scores rollup holds what the entries say."""
        self.storage.rebuild_rollups()
        rows = self.storage.execute_query("SELECT * FROM feedback_rollup_scores")
        got = {(str(r[0]), r[1], r[2]): tuple(r[3:]) for r in rows}
        want = expected_scores(self.storage.get_all())
        assert got.keys() == want.keys()
        for key, values in want.items():
            *sums, latest = got[key]
            assert sums == pytest.approx(values[:-1], abs=1e-6), key
            assert (latest and parse_timestamp(latest)) == values[-1], key

    @rule(days=st.sampled_from([1, 7]))
    def ask_with_a_half_life(self, days: int) -> None:
        """Builds the decayed sums of that half-life (on its first ask), which every later
        write then keeps: the invariant's ``verify_rollups`` weighs the days again."""
        built_decayed_sums(self.storage, timedelta(days=days))
        kept = self.storage.worker_scores(half_life=timedelta(days=days), now=NOW)
        read = self.storage.worker_scores(
            half_life=timedelta(days=days), now=NOW, since=datetime(2000, 1, 1, tzinfo=UTC)
        )
        assert [s.worker_id for s in kept] == [s.worker_id for s in read]
        for a, b in zip(kept, read, strict=True):  # within the moments' bound (scores.md)
            assert (a.successes, a.failures, a.ratings) == pytest.approx(
                (b.successes, b.failures, b.ratings), rel=1e-2, abs=1e-9
            )

    @rule(entry=entries)
    def another_program_inserts(self, entry: FeedbackEntry) -> None:
        """A row written by a program that is not the store (the sqlite3 shell, say)."""
        if self.kind != "sqlite-file":
            return
        connection = sqlite3.connect(self.path)
        connection.execute(INSERT_AS_SQLITE_DOES, sqlite_row(entry))
        connection.commit()
        connection.close()

    @invariant()
    def answers_equal_a_recompute(self) -> None:
        assert_answers_match_the_entries(self.storage)
        assert self.storage.verify_rollups() == []


@pytest.mark.parametrize("kind", BACKENDS)
def test_any_sequence_of_writes_keeps_the_rollups_true(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the tail (SQLite) or the deltas (PostgreSQL) folded into the rollups whenever
    they hold more than two rows, two rows a step, so that most steps change rows the
    rollups count, some change what is still pending, and a fold may stop with a rollup row
    at zero or below while deltas for it are pending."""
    from orchestrator_feedback.storage.backends import postgres_rollups, sqlite_rollups

    monkeypatch.setattr(sqlite_rollups, "FOLD_AT", 2)
    monkeypatch.setattr(postgres_rollups, "FOLD_AT", 2)
    monkeypatch.setattr(postgres_rollups, "FOLD_STEP_ROWS", 2)
    storage = open_store(kind, tmp_path, request)

    class Machine(WritesKeepRollupsTrue):
        pass

    Machine.storage = storage
    Machine.kind = kind
    Machine.path = tmp_path / "feedback.db"
    try:
        Machine.TestCase.settings = settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        Machine.TestCase().runTest()
    finally:
        storage.close()


def restored(tmp_path: Path, dump: str) -> Path:
    """A database restored from ``data/<dump>.sql``, a real store of an earlier version."""
    path = tmp_path / f"{dump}.db"
    connection = sqlite3.connect(path)
    connection.executescript((Path(__file__).parent / "data" / f"{dump}.sql").read_text())
    connection.close()
    return path


def _database_at(path: Path, version: int, rows: list[FeedbackEntry]) -> None:
    """A database as an earlier orchestrator-feedback left it (0: the seed's own table)."""
    connection = sqlite3.connect(path)
    statements = [s for number, batch in MIGRATIONS if number <= max(version, 1) for s in batch]
    for statement in statements if version else statements[:1]:
        connection.execute(statement)
    for entry in rows:
        connection.execute(INSERT_AS_SQLITE_DOES, sqlite_row(entry))
    connection.execute(f"PRAGMA user_version = {version}")
    connection.commit()
    connection.close()


def _rows_of_every_kind() -> list[FeedbackEntry]:
    return [
        FeedbackEntry(
            task_id=f"t{n % 4}",
            feedback_type=list(FeedbackType)[n % len(FeedbackType)],
            content="c",
            rating=None if n % 3 == 0 else n % 5 + 1,
            metadata={"worker_id": f"w{n % 3}"} if n % 2 else {},
            created_at=NOW - timedelta(hours=7 * n),
        )
        for n in range(60)
    ]


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5])
def test_the_migration_builds_rollups_from_what_is_stored(tmp_path: Path, version: int) -> None:
    rows = _rows_of_every_kind()
    path = tmp_path / f"v{version}.db"
    _database_at(path, version, rows)
    with FeedbackStorage(path) as storage:
        assert storage.schema_version == MIGRATIONS[-1][0]
        assert storage.verify_rollups() == []
        assert_answers_match_the_entries(storage)


def test_a_schema_5_database_gets_the_new_scores_rollup(tmp_path: Path) -> None:
    """A real database of schema 5 (its scores rollup had no time moments and counted a
    completion without ``metadata.success`` as no outcome): migrated, it scores by the
    rules of docs/scores.md."""
    path = restored(tmp_path, "schema5")
    with FeedbackStorage(path) as storage:
        assert storage.schema_version == MIGRATIONS[-1][0]
        assert storage.verify_rollups() == []
        stored = storage.get_all()
        scores = {s.worker_id: s for s in storage.worker_scores(now=NOW + timedelta(days=30))}
    for worker in ("w0", "w1", "w2"):
        mine = [e for e in stored if e.metadata.get("worker_id") == worker]
        failures = sum(
            e.feedback_type is FeedbackType.ERROR_REPORT or e.metadata.get("success") is False
            for e in mine
        )
        completions = [e for e in mine if e.feedback_type is FeedbackType.TASK_COMPLETION]
        successes = sum(e.metadata.get("success", True) is True for e in completions)
        assert (scores[worker].successes, scores[worker].failures) == (successes, failures)
    assert sum(s.ratings for s in scores.values()) == sum(
        e.rating is not None and e.feedback_type in RATED_TYPES for e in stored
    )


def test_a_schema_9_database_counts_every_type_of_rating_after_the_upgrade(tmp_path: Path) -> None:
    """A real database of schema 9 (only three types' ratings rated a worker, and no
    ``feedback_rated_types``): migrated, every rated entry naming a worker counts, and the
    store's rating types are every type."""
    path = restored(tmp_path, "schema9")
    with FeedbackStorage(path) as storage:
        assert storage.schema_version == MIGRATIONS[-1][0]
        assert storage.rating_types == set(FeedbackType)
        assert storage.verify_rollups() == []
        stored = storage.get_all()
        scores = {s.worker_id: s for s in storage.worker_scores(now=NOW + timedelta(days=30))}
    for worker in ("w0", "w1", "w2"):
        ratings = [e.rating for e in stored if e.metadata["worker_id"] == worker and e.rating]
        assert scores[worker].ratings == len(ratings)
        if ratings:
            assert scores[worker].mean_rating == pytest.approx(sum(ratings) / len(ratings))
    assert any(e.feedback_type is FeedbackType.TASK_QUALITY and e.rating for e in stored)


def test_the_command_line_verifies_and_rebuilds(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    with FeedbackStorage(path) as storage:
        storage.create(FeedbackEntry(task_id="t", feedback_type="general", content="c", rating=4))
    runner = CliRunner()
    assert runner.invoke(cli, ["--database", str(path), "rollups", "rebuild"]).exit_code == 0
    verified = runner.invoke(cli, ["--database", str(path), "rollups", "verify"])
    assert verified.exit_code == 0 and "agree" in verified.output
    # Drifted behind the triggers' back (a tool that drops them, say): found and repaired.
    connection = sqlite3.connect(path)
    connection.execute("UPDATE feedback_rollup_types SET entries = entries + 2")
    connection.commit()
    connection.close()
    drifted = runner.invoke(cli, ["--database", str(path), "rollups", "verify"])
    assert drifted.exit_code == 1
    assert "feedback_rollup_types" in drifted.output
    rebuilt = runner.invoke(cli, ["--database", str(path), "rollups", "rebuild"])
    assert rebuilt.exit_code == 0
    again = runner.invoke(cli, ["--database", str(path), "rollups", "verify"])
    assert again.exit_code == 0


@pytest.mark.parametrize("version", [1, 2, 3, 4, 6])
def test_postgres_migration_builds_rollups_from_what_is_stored(
    postgres_url: str, version: int
) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    from orchestrator_feedback.storage.backends.postgres_schema import MIGRATIONS as POSTGRES

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE feedback_schema (version INTEGER NOT NULL)")
        for _number, statements in POSTGRES[:version]:
            for statement in statements:
                connection.execute(statement)
        connection.execute("INSERT INTO feedback_schema VALUES (%s)", (version,))
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO feedback VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        e.id,
                        e.task_id,
                        e.feedback_type.value,
                        e.content,
                        e.rating,
                        e.user_id,
                        Jsonb(e.metadata),
                        e.created_at,
                        e.updated_at,
                    )
                    for e in _rows_of_every_kind()
                ],
            )
    with FeedbackStorage(postgres_url) as storage:
        assert storage.schema_version == POSTGRES[-1][0]
        assert storage.verify_rollups() == []
        assert_answers_match_the_entries(storage)


WORKERLESS = [
    {},
    {"task_type": "resize"},
    {"worker_id": None},
    {"worker_id": None, "task_type": "ocr"},
]


@pytest.mark.parametrize(
    "how", ["delete", "delete_by_task", "purge", "forget_user", "own_sql", "update"]
)
def test_entries_without_a_worker_delete_and_change_every_way(
    storage: FeedbackStorage, backend_kind: str, how: str
) -> None:
    """Issue "Flat at ten million": on PostgreSQL, deleting an entry whose worker_id is JSON
    null (an error raised before allocation) wrote a scores row for a null worker and failed."""
    made = [
        storage.create(
            FeedbackEntry(
                task_id=f"t{n}",
                feedback_type=kind,
                content="c",
                rating=3,
                user_id="ada",
                metadata=metadata,
                created_at=NOW - timedelta(days=2),
            )
        )
        for n, (kind, metadata) in enumerate(
            (kind, metadata) for kind in FeedbackType for metadata in WORKERLESS
        )
    ]
    mark = "%s" if backend_kind == "postgres" else "?"
    for entry in made:
        if how == "delete":
            assert storage.delete(entry.id)
        elif how == "delete_by_task":
            assert storage.delete_by_task(entry.task_id) == 1
        elif how == "own_sql":
            storage.execute_query(f"DELETE FROM feedback WHERE id = {mark}", [entry.id])
        elif how == "update":
            storage.update(attrs.evolve(entry, rating=5))
    if how == "purge":
        assert storage.purge(timedelta(days=1)) == len(made)
    elif how == "forget_user":
        assert storage.forget_user("ada") == len(made)
    assert storage.count() == (len(made) if how == "update" else 0)
    assert storage.verify_rollups() == []
    deleted = sum(storage.lifetime_counts().deleted_by_type.values())
    assert deleted == (0 if how == "update" else len(made))


def _old_completions(count: int) -> list[FeedbackEntry]:
    return [
        FeedbackEntry(
            task_id=f"t{n}",
            feedback_type=FeedbackType.TASK_COMPLETION,
            content="c",
            rating=n % 5 + 1,
            metadata={"worker_id": f"w{n % 50}", "task_type": f"k{n % 5}"},
            created_at=NOW - timedelta(minutes=n),
        )
        for n in range(count)
    ]


def test_a_long_tail_folds_in_steps_while_a_writer_keeps_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue "Flat at ten million": the first read after a bulk write folded the whole tail
    in one write transaction (147 s at 10M) and a create() meanwhile failed with "database
    is locked". Now it folds FOLD_STEP_ROWS rows a transaction with a pause between, and a
    writer with a lock wait far shorter than the whole fold stores every entry."""
    import threading
    import types

    from orchestrator_feedback.storage.backends import sqlite_rollups

    pauses: list[float] = []
    clock = types.SimpleNamespace(
        monotonic=sqlite_rollups.time.monotonic,
        sleep=lambda seconds: pauses.append(seconds) or time.sleep(seconds),
    )
    monkeypatch.setattr(sqlite_rollups, "time", clock)
    path = tmp_path / "feedback.db"
    rows = 3 * sqlite_rollups.FOLD_STEP_ROWS + 500
    with FeedbackStorage(path) as storage:
        storage.create_many(_old_completions(rows))
        written: list[FeedbackEntry] = []
        failures: list[BaseException] = []
        started = threading.Event()
        stop = threading.Event()

        def write() -> None:
            with FeedbackStorage(path, timeout=1.0) as writer:
                while not stop.is_set():
                    try:
                        written.append(writer.create(_old_completions(1)[0]))
                    except BaseException as error:
                        failures.append(error)
                    started.set()

        thread = threading.Thread(target=write)
        thread.start()
        started.wait(10)
        summary = storage.get_summary()  # the read that finds the long tail
        stop.set()
        thread.join(30)
        assert failures == []
        assert len(pauses) == 4  # three whole steps and the last part, each its own transaction
        assert rows <= summary.total_count <= rows + len(written)
        assert storage.count() == rows + len(written)
        assert storage.verify_rollups() == []


def test_an_import_leaves_the_rollups_folded(tmp_path: Path) -> None:
    from orchestrator_feedback.storage.backends import sqlite_rollups

    source = tmp_path / "entries.jsonl"
    with FeedbackStorage(tmp_path / "a.db") as storage:
        storage.create_many(_old_completions(sqlite_rollups.FOLD_AT + 2_000))
        storage.export_jsonl(source)
    with FeedbackStorage(tmp_path / "b.db") as storage:
        storage.import_jsonl(source)
        (tail,) = storage.execute_query(sqlite_rollups.TAIL_SIZE)[0]
        assert tail == 0
        assert storage.verify_rollups() == []


def test_a_schema_11_database_gets_the_outcomes_rollup_from_its_days(tmp_path: Path) -> None:
    """A real database of schema 11 (folded rollups, a deletion, an update, a row in the
    tail; no outcomes rollup): migrated, the outcomes rollup agrees with the entries, and the
    scores it answers (undecayed: from it) are those of the days (a window: from them)."""
    path = restored(tmp_path, "schema11")
    with FeedbackStorage(path) as storage:
        assert storage.schema_version == MIGRATIONS[-1][0]
        assert storage.verify_rollups() == []
        assert_answers_match_the_entries(storage)
        whole = storage.worker_scores()
        windowed = storage.worker_scores(since=datetime(2000, 1, 1, tzinfo=UTC))
        assert {s.worker_id for s in whole} == {"w0", "w1", "w2", "w9"}
        assert [_rounded(s) for s in whole] == [_rounded(s) for s in windowed]
        storage.delete_by_task("t3")
        assert storage.verify_rollups() == []


def _rounded(score: object) -> tuple[object, ...]:
    """A score's fields, floats to 9 places (sums added up in another order)."""
    return tuple(round(v, 9) if isinstance(v, float) else v for v in attrs.astuple(score))


@pytest.mark.parametrize("kind", BACKENDS)
def test_deleting_the_newest_failure_of_a_day_leaves_the_one_before_it_newest(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The rollups of answers over a period keep each outcome group's newest per day: when
    it goes (deleted, or changed into another group), the newest left takes its place."""
    storage = open_store(kind, tmp_path, request)
    day = (NOW - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    made = [
        FeedbackEntry(
            task_id=f"t{n}",
            feedback_type=FeedbackType.ERROR_REPORT,
            content=f"boom {n}",
            metadata={"worker_id": "w1", "task_type": "ocr", "error_type": "Timeout"},
            created_at=day + timedelta(hours=n),
        )
        for n in range(3)
    ]
    with storage:
        storage.create_many(made)
        storage.rebuild_rollups()  # counted: the triggers keep them from here
        since = day - timedelta(days=1, minutes=30)
        storage.delete(made[2].id)
        [group] = storage.failures(since=since).groups
        assert (group.count, group.newest_at, group.newest_message) == (
            2,
            made[1].created_at,
            "boom 1",
        )
        storage.update(attrs.evolve(made[1], metadata={**made[1].metadata, "error_type": "OOM"}))
        groups = {
            g.error_type: (g.count, g.newest_at) for g in storage.failures(since=since).groups
        }
        assert groups == {"Timeout": (1, made[0].created_at), "OOM": (1, made[1].created_at)}
        assert storage.get_summary(since=since).feedback_by_type[FeedbackType.ERROR_REPORT] == 2
        assert storage.verify_rollups() == []
