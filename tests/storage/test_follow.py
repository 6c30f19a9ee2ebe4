"""``FeedbackStorage.follow``: every new entry once, in commit order, on every backend."""

from __future__ import annotations

import json
import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.errors import FeedbackValidationError
from tests.conftest import open_store

Make = Callable[..., FeedbackEntry]


class Follower:
    """``follow`` consumed on a thread of its own, as a watcher would."""

    def __init__(self, entries: Iterator[FeedbackEntry]) -> None:
        self._entries = entries
        self._seen: queue.Queue[FeedbackEntry] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for entry in self._entries:  # ends when the store closes
            self._seen.put(entry)

    def take(self, count: int, timeout: float = 30.0) -> list[FeedbackEntry]:
        """The next ``count`` entries followed (fails if they do not come)."""
        deadline = time.monotonic() + timeout
        return [self._seen.get(timeout=max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def nothing_more(self, wait: float = 0.6) -> bool:
        """Whether nothing else arrives within ``wait`` seconds."""
        try:
            self._seen.get(timeout=wait)
        except queue.Empty:
            return True
        return False


def test_follow_yields_new_entries_in_commit_order(
    storage: FeedbackStorage, make_entry: Make
) -> None:
    storage.create(make_entry(task_id="before"))
    follower = Follower(storage.follow(poll=0.05))
    time.sleep(0.2)  # the follower starts with the next commit
    storage.create(make_entry(task_id="one"))
    storage.create_many([make_entry(task_id="two"), make_entry(task_id="three")])
    with storage.transaction():
        storage.create(make_entry(task_id="four"))
        storage.create(make_entry(task_id="five"))
    assert [e.task_id for e in follower.take(5)] == ["one", "two", "three", "four", "five"]
    assert follower.nothing_more()


def test_follow_filters_by_type_worker_and_task_type(
    storage: FeedbackStorage, make_entry: Make
) -> None:
    by_type = Follower(storage.follow(feedback_type="error_report", poll=0.05))
    by_worker = Follower(storage.follow(worker_id="w2", poll=0.05))
    by_task_type = Follower(storage.follow(task_type="etl", poll=0.05))
    time.sleep(0.2)
    storage.create(make_entry(task_id="a", metadata={"worker_id": "w1", "task_type": "etl"}))
    storage.create(
        make_entry(
            task_id="b",
            feedback_type=FeedbackType.ERROR_REPORT,
            rating=None,
            metadata={"worker_id": "w2"},
        )
    )
    storage.create(make_entry(task_id="c", metadata={"worker_id": "w2", "task_type": "ml"}))
    assert [e.task_id for e in by_type.take(1)] == ["b"]
    assert [e.task_id for e in by_worker.take(2)] == ["b", "c"]
    assert [e.task_id for e in by_task_type.take(1)] == ["a"]
    assert by_type.nothing_more(0.3) and by_task_type.nothing_more(0.3)


def test_follow_resumes_after_an_entry_or_its_id(
    storage: FeedbackStorage, make_entry: Make
) -> None:
    entries = [make_entry(task_id=f"t{n}") for n in range(5)]
    for entry in entries:
        storage.create(entry)
    from_id = storage.follow(since=entries[1].id, poll=0.05)
    assert [next(from_id).task_id for _ in range(3)] == ["t2", "t3", "t4"]
    from_id.close()
    from_entry = Follower(storage.follow(since=entries[3], poll=0.05))
    assert [e.task_id for e in from_entry.take(1)] == ["t4"]
    storage.create(make_entry(task_id="t5"))
    assert [e.task_id for e in from_entry.take(1)] == ["t5"]


def test_follow_replays_entries_created_after_a_moment(
    storage: FeedbackStorage, make_entry: Make
) -> None:
    now = datetime.now(UTC)
    storage.create(make_entry(task_id="old", created_at=now - timedelta(hours=2)))
    storage.create(make_entry(task_id="recent", created_at=now - timedelta(minutes=5)))
    storage.create(make_entry(task_id="older-but-later", created_at=now - timedelta(hours=3)))
    follower = Follower(storage.follow(since=now - timedelta(minutes=10), poll=0.05))
    assert [e.task_id for e in follower.take(1)] == ["recent"]
    storage.create(make_entry(task_id="live"))
    assert [e.task_id for e in follower.take(1)] == ["live"]
    assert follower.nothing_more(0.3)


def test_follow_checks_its_arguments_at_the_call(storage: FeedbackStorage) -> None:
    with pytest.raises(FeedbackValidationError, match=r"since.*no stored entry"):
        storage.follow(since="no-such-id")
    with pytest.raises(FeedbackValidationError, match="poll"):
        storage.follow(poll=0)
    with pytest.raises(FeedbackValidationError, match="feedback_type"):
        storage.follow(feedback_type="nonsense")
    with pytest.raises(FeedbackValidationError, match="worker_id"):
        storage.follow(worker_id=3)  # type: ignore[arg-type]
    with pytest.raises(FeedbackValidationError, match="since"):
        storage.follow(since=42)  # type: ignore[arg-type]


def test_a_new_entry_after_the_newest_was_deleted_is_followed(
    storage: FeedbackStorage, make_entry: Make
) -> None:
    """SQLite hands a deleted newest row's rowid out again: the follower still sees it."""
    follower = Follower(storage.follow(poll=0.05))
    time.sleep(0.2)
    first, second = make_entry(task_id="first"), make_entry(task_id="second")
    storage.create(first)
    storage.create(second)
    assert [e.task_id for e in follower.take(2)] == ["first", "second"]
    storage.delete(second.id)
    storage.create(make_entry(task_id="third"))
    assert [e.task_id for e in follower.take(1)] == ["third"]
    assert follower.nothing_more(0.3)


def test_follow_decrypts_what_privacy_encrypted(tmp_path: Path, make_entry: Make) -> None:
    pytest.importorskip("cryptography")
    from cryptography.fernet import Fernet

    from orchestrator_feedback.privacy import PrivacyPolicy

    policy = PrivacyPolicy(
        encrypt_metadata_keys=["prompt"], encryption_keys=[Fernet.generate_key().decode()]
    )
    with FeedbackStorage(tmp_path / "secret.db", privacy=policy) as storage:
        follower = Follower(storage.follow(poll=0.05))
        time.sleep(0.2)
        storage.create(make_entry(metadata={"prompt": "the secret"}))
        assert follower.take(1)[0].metadata["prompt"] == "the secret"
    assert b"the secret" not in (tmp_path / "secret.db").read_bytes()


def test_vacuum_keeps_the_rowids_followers_stand_on(tmp_path: Path, make_entry: Make) -> None:
    """``forget_user`` VACUUMs the file; a follower's place (a rowid) must still hold."""
    with FeedbackStorage(tmp_path / "f.db") as storage:
        entries = [
            make_entry(task_id=f"t{n}", user_id="gone" if n % 3 == 0 else "kept") for n in range(30)
        ]
        storage.create_many(entries)
        cursor = storage.follow(since=entries[10].id, poll=0.05)
        assert storage.forget_user("gone") == 10
        storage.create(make_entry(task_id="new"))
        assert [next(cursor).task_id for _ in range(14)] == [
            *(f"t{n}" for n in range(11, 30) if n % 3),
            "new",
        ]
        cursor.close()


# -- four processes commit at once; a fifth follows -------------------------------------


def _write(target: str, process: int, count: int, log: str) -> None:
    """Commit ``count`` entries, one at a time or a few together, noting when each commit
    began and when it returned (the machine's monotonic clock, shared by processes)."""
    rng = random.Random(process)
    spans: list[tuple[list[str], float, float]] = []
    with FeedbackStorage(target, timeout=60) as storage:
        written = 0
        while written < count:
            size = min(rng.choice([1, 1, 1, 3, 5]), count - written)
            batch = [
                FeedbackEntry(
                    task_id=f"p{process}-{written + n}",
                    feedback_type=FeedbackType.TASK_COMPLETION,
                    content="done",
                    metadata={"worker_id": f"w{process}"},
                )
                for n in range(size)
            ]
            began = time.monotonic()
            if size == 1:
                storage.create(batch[0])
            else:
                storage.create_many(batch)
            spans.append(([entry.id for entry in batch], began, time.monotonic()))
            written += size
            time.sleep(rng.random() * 0.004)
    Path(log).write_text(json.dumps(spans))


@pytest.mark.parametrize("backend_kind", ["sqlite-file", "postgres"], indirect=True)
def test_four_writers_a_fifth_follows_each_entry_once_in_commit_order(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = open_store(backend_kind, tmp_path, request)
    target = (
        str(tmp_path / "feedback.db")
        if backend_kind == "sqlite-file"
        else request.getfixturevalue("postgres_url")
    )
    per_process = 150
    follower = Follower(storage.follow(poll=0.05))
    time.sleep(0.2)
    context = multiprocessing.get_context("spawn")
    logs = [str(tmp_path / f"spans-{p}.json") for p in range(4)]
    writers = [
        context.Process(target=_write, args=(target, p, per_process, logs[p])) for p in range(4)
    ]
    for writer in writers:
        writer.start()
    followed = follower.take(4 * per_process, timeout=120)
    for writer in writers:
        writer.join(60)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    assert follower.nothing_more()
    storage.close()

    order = [entry.id for entry in followed]
    assert len(set(order)) == len(order) == 4 * per_process  # each once
    place = {feedback_id: n for n, feedback_id in enumerate(order)}
    spans: list[tuple[list[str], float, float]] = []
    for log in logs:
        spans.extend(json.loads(Path(log).read_text()))
    # Commit order, as any process can tell it: a commit that returned before another
    # began comes first; the entries of one commit come together, in their order.
    for ids, _began, _ended in spans:
        assert [place[i] for i in ids] == list(range(place[ids[0]], place[ids[0]] + len(ids)))
    for ids, began, _ended in spans:
        earlier = [place[other[-1]] for other, _b, ended in spans if ended < began]
        assert not earlier or max(earlier) < place[ids[0]]


@pytest.mark.parametrize("backend_kind", ["sqlite-file", "postgres"], indirect=True)
def test_a_follower_restarted_resumes_from_the_last_entry_it_handled(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: Make
) -> None:
    first = open_store(backend_kind, tmp_path, request)
    target = (
        request.getfixturevalue("postgres_url")
        if backend_kind == "postgres"
        else str(tmp_path / "feedback.db")
    )
    follower = first.follow(poll=0.05)
    first.create_many([make_entry(task_id=f"t{n}") for n in range(3)])
    handled = [next(follower), next(follower)]
    follower.close()
    first.close()  # the watcher stops; meanwhile another writer goes on
    with FeedbackStorage(target) as writer:
        writer.create(make_entry(task_id="t3"))
    with FeedbackStorage(target) as again:
        resumed = again.follow(since=handled[-1].id, poll=0.05)
        assert [next(resumed).task_id for _ in range(2)] == ["t2", "t3"]
        resumed.close()


def test_imported_entries_are_followed_like_any_other(
    storage: FeedbackStorage, make_entry: Make, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    with FeedbackStorage(tmp_path / "source.db") as other:
        other.create_many([make_entry(task_id=f"imported-{n}") for n in range(3)])
        other.export_jsonl(source)
    follower = Follower(storage.follow(poll=0.05))
    time.sleep(0.2)
    assert storage.import_jsonl(source) == 3
    assert sorted(e.task_id for e in follower.take(3)) == [f"imported-{n}" for n in range(3)]
    assert follower.nothing_more(0.3)


def test_a_schema_7_store_keeps_its_commit_order_after_the_migration(
    postgres_url: str, make_entry: Make
) -> None:
    """Schema 8 moves the commit numbers out of the log rows: entries committed before it
    are still found by id, in their order, and new ones follow them."""
    import psycopg

    from orchestrator_feedback.storage.backends.postgres_schema import MIGRATIONS

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE feedback_schema (version INTEGER NOT NULL)")
        for number, statements in MIGRATIONS:
            if number <= 7:
                for statement in statements:
                    connection.execute(statement)
        connection.execute("INSERT INTO feedback_schema VALUES (7)")
        for n in range(3):  # three transactions, numbered by schema 7's trigger
            entry = make_entry(task_id=f"old{n}")
            connection.execute(
                "INSERT INTO feedback VALUES (%s, %s, %s, %s, NULL, NULL, '{}', now(), now())",
                (entry.id, entry.task_id, entry.feedback_type.value, entry.content),
            )
        old_ids = [row[0] for row in connection.execute("SELECT id FROM feedback ORDER BY task_id")]
        numbered = connection.execute(
            "SELECT count(*) FROM feedback_follow_commits WHERE seq IS NOT NULL"
        ).fetchone()
        assert numbered == (3,)
    with FeedbackStorage(postgres_url) as storage:
        assert storage.schema_version == MIGRATIONS[-1][0]
        follower = Follower(storage.follow(since=old_ids[0], poll=0.05))
        assert [e.task_id for e in follower.take(2)] == ["old1", "old2"]
        storage.create(make_entry(task_id="new"))
        assert [e.task_id for e in follower.take(1)] == ["new"]
        assert follower.nothing_more()
