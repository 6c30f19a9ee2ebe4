"""Worker scores and recommend, on every backend: Wilson intervals against published
values, decay against the per-entry formula, the rankings people expect, freshness."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
)
from orchestrator_feedback.storage.scores import wilson
from tests.conftest import open_store

MakeEntry = Callable[..., FeedbackEntry]

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
Z95 = 1.959963984540054


def outcome(
    make_entry: MakeEntry,
    worker: str,
    *,
    success: bool | None = True,
    at: datetime = NOW - timedelta(hours=1),
    rating: int | None = None,
    task_type: str | None = None,
    kind: str = "task_completion",
) -> FeedbackEntry:
    metadata: dict[str, object] = {"worker_id": worker}
    if success is not None:
        metadata["success"] = success
    if task_type is not None:
        metadata["task_type"] = task_type
    return make_entry(
        task_id=f"task-{worker}",
        feedback_type=kind,
        rating=rating,
        metadata=metadata,
        created_at=at,
    )


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Published 95% Wilson intervals (e.g. Newcombe 1998, Table I; Brown, Cai and
        # DasGupta 2001), to four places.
        (1, 1, 0.2065, 1.0),
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (50, 100, 0.4038, 0.5962),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_matches_published_intervals(
    successes: int, n: int, low: float, high: float
) -> None:
    got_low, got_high = wilson(successes, n, Z95)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=1e-4)
    assert wilson(0, 0, Z95) == (None, None)
    assert wilson(48, 48, Z95)[1] == 1.0 and wilson(0, 48, Z95)[0] == 0.0


def test_decayed_counts_by_hand(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    storage.create_many(
        [
            outcome(make_entry, "w", at=NOW),
            outcome(make_entry, "w", at=NOW - timedelta(days=1)),
            outcome(make_entry, "w", at=NOW - timedelta(days=2), success=False),
            outcome(make_entry, "w", kind="error_report", success=None, at=NOW - timedelta(days=3)),
        ]
    )
    (plain,) = storage.worker_scores(now=NOW)
    assert (plain.attempts, plain.successes, plain.failures) == (4, 2, 2)
    (score,) = storage.worker_scores(now=NOW, half_life=timedelta(days=1))
    assert score.successes == pytest.approx(1 + 0.5, rel=1e-9)
    assert score.failures == pytest.approx(0.25 + 0.125, rel=1e-9)
    assert score.success_rate == pytest.approx(1.5 / 1.875)
    assert score.last_seen == NOW


def test_one_at_5_does_not_outrank_two_hundred_at_4_9(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    steady = [
        outcome(
            make_entry,
            "steady",
            rating=4 if n % 10 == 0 else 5,
            success=n % 100 != 7,  # two of the two hundred failed
            at=NOW - timedelta(minutes=n),
        )
        for n in range(200)
    ]
    storage.create_many([*steady, outcome(make_entry, "lucky", rating=5)])
    ranked = storage.worker_scores(now=NOW)
    assert [s.worker_id for s in ranked] == ["steady", "lucky"]
    steady_score, lucky_score = ranked
    assert steady_score.mean_rating == pytest.approx(4.9)
    assert lucky_score.mean_rating == 5.0
    assert steady_score.rating_lower > lucky_score.rating_lower  # type: ignore[operator]
    assert storage.recommend(["lucky", "steady"], policy="lower_bound", now=NOW) == [
        "steady",
        "lucky",
    ]
    # The plain average is what locks onto luck: the comparison policy shows it.
    assert storage.recommend(["steady", "lucky"], policy="mean", now=NOW) == ["lucky", "steady"]


def test_decay_moves_the_ranking_after_a_worker_degrades(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    old = [
        outcome(make_entry, "veteran", at=NOW - timedelta(days=60, minutes=n)) for n in range(200)
    ]
    slump = [
        outcome(make_entry, "veteran", success=False, at=NOW - timedelta(hours=n))
        for n in range(20)
    ]
    newcomer = [
        outcome(make_entry, "newcomer", at=NOW - timedelta(hours=n), success=n != 5)
        for n in range(31)
    ]
    storage.create_many([*old, *slump, *newcomer])
    assert [s.worker_id for s in storage.worker_scores(now=NOW)] == ["veteran", "newcomer"]
    week = timedelta(days=7)
    assert [s.worker_id for s in storage.worker_scores(now=NOW, half_life=week)] == [
        "newcomer",
        "veteran",
    ]
    assert storage.recommend(
        ["veteran", "newcomer"], policy="lower_bound", half_life=week, now=NOW
    ) == ["newcomer", "veteran"]


@pytest.mark.parametrize("half_life_days", [1, 3, 30])
def test_decay_from_the_rollup_stays_within_1_percent_of_the_per_entry_formula(
    storage: FeedbackStorage, make_entry: MakeEntry, half_life_days: int
) -> None:
    chooser = random.Random(half_life_days)
    entries = []
    for worker in ("edges", "spread"):
        for day in range(20):
            start = datetime(2026, 6, 14, tzinfo=UTC) - timedelta(days=day)
            if worker == "edges":  # the worst case: each day's outcomes at its two ends
                times = [start, start + timedelta(hours=23, minutes=59, seconds=59)] * 3
            else:
                times = [start + timedelta(seconds=chooser.uniform(0, 86_399)) for _ in range(6)]
            for n, at in enumerate(times):
                entries.append(
                    outcome(make_entry, worker, at=at, success=n % 3 != 0, rating=1 + (n + day) % 5)
                )
    storage.create_many(entries)
    half_life = timedelta(days=half_life_days)
    scores = {s.worker_id: s for s in storage.worker_scores(now=NOW, half_life=half_life)}
    for worker in ("edges", "spread"):
        mine = [e for e in entries if e.metadata["worker_id"] == worker]

        def weight(entry: FeedbackEntry) -> float:
            return 0.5 ** ((NOW - entry.created_at) / half_life)

        successes = sum(weight(e) for e in mine if e.metadata["success"])
        failures = sum(weight(e) for e in mine if not e.metadata["success"])
        ratings = sum(weight(e) for e in mine)
        rating_sum = sum(weight(e) * (e.rating or 0) for e in mine)
        got = scores[worker]
        assert got.successes == pytest.approx(successes, rel=0.01)
        assert got.failures == pytest.approx(failures, rel=0.01)
        assert got.ratings == pytest.approx(ratings, rel=0.01)
        assert got.mean_rating == pytest.approx(rating_sum / ratings, rel=0.01)


def test_outcome_rules(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    storage.create_many(
        [
            outcome(make_entry, "w", success=None),  # absent: a success
            outcome(make_entry, "w", success=False),
            outcome(make_entry, "w", kind="error_report", success=None),
            outcome(make_entry, "w", kind="worker_performance", success=None, rating=2),
            outcome(make_entry, "w", kind="manager_review", success=None, rating=4),
            outcome(make_entry, "w", kind="task_quality", success=None, rating=3),
            outcome(make_entry, "w", kind="allocation_feedback", success=None),  # no outcome
            make_entry(metadata={"success": True}, created_at=NOW),  # no worker: not counted
        ]
    )
    (score,) = storage.worker_scores(now=NOW)
    assert (score.attempts, score.successes, score.failures) == (3, 1, 2)
    assert (score.ratings, score.mean_rating) == (3, 3.0)


def test_rating_types_choose_the_ratings_that_rate_a_worker_and_stay_with_the_store(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    """Every type's rating rates the worker its entry names, unless the store is given
    ``rating_types``: then the stored ratings are counted again by them, the store keeps
    them for the next opening, and what is committed later counts by them too."""
    rated = [
        outcome(make_entry, "w", kind="task_quality", success=None, rating=1),
        outcome(make_entry, "w", kind="manager_review", success=None, rating=5),
    ]
    storage = open_store(backend_kind, tmp_path, request)
    storage.create_many(rated)
    assert [(s.ratings, s.mean_rating) for s in storage.worker_scores(now=NOW)] == [(2, 3.0)]
    if backend_kind == "sqlite-memory":
        storage.close()
        return  # a store in memory is gone at closing: nothing to reopen
    storage.close()
    storage = open_store(backend_kind, tmp_path, request, rating_types=["manager_review"])
    try:
        assert storage.rating_types == {FeedbackType.MANAGER_REVIEW}
        assert [(s.ratings, s.mean_rating) for s in storage.worker_scores(now=NOW)] == [(1, 5.0)]
        storage.create(outcome(make_entry, "w", kind="task_quality", success=None, rating=1))
        storage.create(outcome(make_entry, "w", kind="manager_review", success=None, rating=3))
        assert [(s.ratings, s.mean_rating) for s in storage.worker_scores(now=NOW)] == [(2, 4.0)]
        assert storage.verify_rollups() == []
    finally:
        storage.close()
    storage = open_store(backend_kind, tmp_path, request)  # no rating_types: the store's
    try:
        assert storage.rating_types == {FeedbackType.MANAGER_REVIEW}
        later = NOW + timedelta(seconds=1)
        assert [(s.ratings, s.mean_rating) for s in storage.worker_scores(now=later)] == [(2, 4.0)]
    finally:
        storage.close()


@pytest.mark.parametrize("value", ["task_quality", ["task_quality", "nope"], [{"a": 1}], 7, []])
def test_rating_types_that_are_not_feedback_types_are_refused_before_opening(
    tmp_path: Path, value: Any
) -> None:
    with pytest.raises(FeedbackValidationError, match="rating_types"):
        FeedbackStorage(tmp_path / "f.db", rating_types=value)
    assert not (tmp_path / "f.db").exists()


def test_task_type_since_and_now_choose_the_outcomes(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many(
        [
            outcome(make_entry, "w", task_type="build", at=NOW - timedelta(days=3, hours=5)),
            outcome(make_entry, "w", task_type="build", success=False, at=NOW - timedelta(hours=2)),
            outcome(make_entry, "w", task_type="test", at=NOW - timedelta(minutes=5)),
            outcome(make_entry, "w", task_type="test", at=NOW + timedelta(days=1)),
        ]
    )
    (build,) = storage.worker_scores(task_type="build", now=NOW)
    assert (build.successes, build.failures) == (1, 1)
    (recent,) = storage.worker_scores(since=NOW - timedelta(hours=3), now=NOW)
    assert (recent.successes, recent.failures) == (1, 1)
    assert recent.last_seen == NOW - timedelta(minutes=5)
    (later,) = storage.worker_scores(now=NOW + timedelta(days=2))
    assert later.attempts == 4
    (earlier,) = storage.worker_scores(now=NOW - timedelta(days=1))  # back-testing
    assert earlier.attempts == 1
    assert storage.worker_scores(task_type="deploy", now=NOW) == []


def test_an_undecayed_window_summed_per_worker_equals_the_per_day_sums(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    """Without decay a window is read one row a worker; with a half-life so long that
    every weight is 1 to six places, one row a worker and day. The two must agree."""
    rng = random.Random(3)
    storage.create_many(
        [
            outcome(
                make_entry,
                f"w{n % 4}",
                success=rng.choice([True, False, None]),
                rating=rng.choice([None, 2, 5]),
                kind=rng.choice(["task_completion", "error_report", "worker_performance"]),
                at=NOW - timedelta(days=rng.randrange(40), hours=rng.randrange(24)),
            )
            for n in range(300)
        ]
    )
    since = NOW - timedelta(days=30, hours=7)
    plain = storage.worker_scores(since=since, now=NOW)
    slow = storage.worker_scores(since=since, now=NOW, half_life=timedelta(days=1e8))
    assert [s.worker_id for s in plain] == [s.worker_id for s in slow]
    for a, b in zip(plain, slow, strict=True):
        assert (a.successes, a.failures, a.ratings) == pytest.approx(
            (b.successes, b.failures, b.ratings), rel=1e-6
        )
        assert a.mean_rating == pytest.approx(b.mean_rating, rel=1e-6)
        assert a.last_seen == b.last_seen


def test_recommend_ranks_every_candidate_once(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many(
        [outcome(make_entry, "good") for _ in range(30)]
        + [outcome(make_entry, "bad", success=False) for _ in range(30)]
    )
    candidates = ["new", "bad", "good", "bad", "other"]
    assert storage.recommend(candidates, policy="lower_bound", now=NOW) == [
        "good",
        "bad",
        "new",
        "other",
    ]
    orders = [
        tuple(storage.recommend(candidates, rng=random.Random(seed), now=NOW)) for seed in range(40)
    ]
    assert all(sorted(order) == ["bad", "good", "new", "other"] for order in orders)
    assert sum(order[0] == "good" for order in orders) >= 30  # 30 of 30 vs unseen
    assert sum(order[-1] == "bad" for order in orders) >= 30  # 0 of 30
    assert len(set(orders)) > 1  # the unseen ones are explored
    again = [storage.recommend(candidates, rng=random.Random(7), now=NOW) for _ in range(3)]
    assert again[0] == again[1] == again[2]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"candidates": []}, "candidates"),
        ({"candidates": "w1"}, "candidates"),
        ({"candidates": ["w1", 7]}, "candidates"),
        ({"policy": "greedy"}, "policy"),
        ({"half_life": 7}, "half_life"),
        ({"half_life": timedelta(0)}, "half_life"),
        ({"confidence": 1.5}, "confidence"),
        ({"task_type": 3}, "task_type"),
        ({"now": "today"}, "now"),
        ({"rng": 42}, "rng"),
    ],
)
def test_recommend_refuses_bad_arguments_by_name(
    storage: FeedbackStorage, arguments: dict[str, object], field: str
) -> None:
    call: dict[str, object] = {"candidates": ["w1"], **arguments}
    with pytest.raises(FeedbackValidationError, match=rf"^{field}: "):
        storage.recommend(**call)  # type: ignore[arg-type]


def test_an_entry_committed_here_counts_at_the_next_call(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["a", "b"]
    storage.create(outcome(make_entry, "b", at=datetime.now(UTC)))
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["b", "a"]
    with storage.transaction():
        storage.create(outcome(make_entry, "a", at=datetime.now(UTC)))
        storage.create(outcome(make_entry, "a", at=datetime.now(UTC)))
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["a", "b"]
    storage.delete_by_task("task-a")
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["b", "a"]
    ticket = storage.submit(outcome(make_entry, "a", at=datetime.now(UTC)))
    storage.wait_committed(ticket)  # type: ignore[arg-type]
    storage.submit(outcome(make_entry, "a", at=datetime.now(UTC)))
    storage.flush()
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["a", "b"]
    (score,) = [s for s in storage.worker_scores(now=now) if s.worker_id == "a"]
    assert score.attempts == 2


@pytest.mark.parametrize("kind", ["sqlite-file", "postgres"])
def test_another_process_entries_count_after_the_refresh(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    asking = open_store(kind, tmp_path, request)
    writing = FeedbackStorage(
        asking.backend.url if kind == "postgres" else tmp_path / "feedback.db"
    )
    try:
        asking._scoring.book.refresh = 0.2  # the default is 5 s (docs/scores.md)
        now = datetime.now(UTC) + timedelta(minutes=1)
        assert asking.recommend(["a", "b"], policy="lower_bound", now=now) == ["a", "b"]
        writing.create(outcome(make_entry, "b", at=datetime.now(UTC)))
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while asking.recommend(["a", "b"], policy="lower_bound", now=now) != ["b", "a"]:
            assert datetime.now(UTC) < deadline, "another store's entry never counted"
    finally:
        writing.close()
        asking.close()


@pytest.mark.parametrize("kind", ["sqlite-file", "postgres"])
def test_another_process_entries_count_within_a_poll_and_own_ones_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    """The score book follows the store: another store's outcomes count long before the
    refresh (an hour here), and this store's own, heard both ways, count once."""
    asking = open_store(kind, tmp_path, request, score_refresh=3600)
    writing = FeedbackStorage(
        asking.backend.url if kind == "postgres" else tmp_path / "feedback.db"
    )
    try:
        now = datetime.now(UTC) + timedelta(minutes=1)
        assert asking.worker_scores(now=now) == []  # the book's first page
        writing.create_many([outcome(make_entry, "b", at=datetime.now(UTC)) for _ in range(5)])
        for _ in range(3):
            asking.create(outcome(make_entry, "b", at=datetime.now(UTC)))
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while [s.attempts for s in asking.worker_scores(now=now)] != [8]:
            assert datetime.now(UTC) < deadline, asking.worker_scores(now=now)
            time.sleep(0.05)
        time.sleep(1)  # several polls later, nothing is counted twice
        assert [s.attempts for s in asking.worker_scores(now=now)] == [8]
    finally:
        writing.close()
        asking.close()


@pytest.mark.parametrize("kind", ["sqlite-file", "postgres"])
def test_an_own_entry_the_follower_sees_first_counts_at_the_next_call(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    """A slow listener holds the commit's notice past a poll, so the follower sees the
    entry first, and the follower is slow to count it: the next call still counts it once
    (it once found it neither counted nor countable, dropped by the listener as seen)."""
    asking = open_store(kind, tmp_path, request, score_refresh=3600)
    asking.add_listener(lambda changes: time.sleep(0.5), batched=True)  # before the book's
    try:
        now = datetime.now(UTC) + timedelta(minutes=1)
        assert asking.worker_scores(now=now) == []  # the book's first page, and its follower
        book = asking._scoring.book
        hear = book.hear

        def slow_when_following(changes: Any) -> None:
            if threading.current_thread().name == "feedback-score-follow":
                time.sleep(0.5)
            hear(changes)

        book.hear = slow_when_following  # type: ignore[method-assign]
        for attempt in range(1, 4):
            asking.create(outcome(make_entry, "b", at=datetime.now(UTC)))
            assert [s.attempts for s in asking.worker_scores(now=now)] == [attempt]
        time.sleep(0.5)
        assert [s.attempts for s in asking.worker_scores(now=now)] == [3]
    finally:
        asking.close()


def test_the_scores_in_memory_follow_the_callers_own_sql(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest, make_entry: MakeEntry
) -> None:
    """A rating changed or an entry deleted with ``execute_query`` counts at the next call,
    not at the next re-read of the book (an hour here); a SELECT leaves the book as it is."""
    storage = open_store(backend_kind, tmp_path, request, score_refresh=3600)
    try:
        rated = storage.create(
            outcome(make_entry, "w", success=None, kind="task_quality", rating=2)
        )
        failed = storage.create(outcome(make_entry, "w", success=False))
        now = NOW + timedelta(minutes=1)
        assert [(s.mean_rating, s.failures) for s in storage.worker_scores(now=now)] == [(2, 1)]
        storage.execute_query("SELECT count(*) FROM feedback")
        assert storage._scoring.book.page(None, None, now) is not None
        storage.execute_query(
            "UPDATE feedback SET rating = 5 WHERE id = " + storage.backend.placeholder, [rated.id]
        )
        storage.execute_query(
            "DELETE FROM feedback WHERE id = " + storage.backend.placeholder, [failed.id]
        )
        assert [(s.mean_rating, s.failures) for s in storage.worker_scores(now=now)] == [(5, 0)]
    finally:
        storage.close()


def test_scores_survive_reopening_and_match_a_rebuild(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    path = tmp_path / "s.db"
    with FeedbackStorage(path) as storage:
        storage.create_many(
            [
                outcome(make_entry, f"w{n % 3}", success=n % 4 != 0, at=NOW - timedelta(hours=n))
                for n in range(100)
            ]
        )
        before = storage.worker_scores(now=NOW, half_life=timedelta(days=2))
    with FeedbackStorage(path) as storage:
        storage.rebuild_rollups()
        after = storage.worker_scores(now=NOW, half_life=timedelta(days=2))
    assert [s.worker_id for s in before] == [s.worker_id for s in after]
    for one, other in zip(before, after, strict=True):
        assert math.isclose(one.successes, other.successes, rel_tol=1e-9)


def test_a_forked_child_reads_its_own_scores(tmp_path: Path, make_entry: MakeEntry) -> None:
    import multiprocessing

    path = tmp_path / "fork.db"
    storage = FeedbackStorage(path)
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert storage.recommend(["a", "b"], policy="lower_bound", now=now) == ["a", "b"]
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        storage.create(outcome(make_entry, "b", at=datetime.now(UTC)))
        sender.send(storage.recommend(["a", "b"], policy="lower_bound", now=now))

    process = context.Process(target=child)
    process.start()
    assert receiver.recv() == ["b", "a"]
    process.join(timeout=30)
    storage.close()


def test_forks_while_the_scores_follow_the_store_never_hang(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    """The score book's follower reads SQLite five times a second on a thread; a child
    forked while it was inside SQLite inherited SQLite's mutexes held and hung in its first
    connect (2 forks in 3, here). Forty forks: every child stores and ranks."""
    import multiprocessing

    storage = FeedbackStorage(tmp_path / "forks.db")
    now = datetime.now(UTC) + timedelta(minutes=1)
    storage.recommend(["a", "b"], policy="lower_bound", now=now)  # the follower starts
    context = multiprocessing.get_context("fork")

    def child() -> None:
        storage.create(outcome(make_entry, "b", at=datetime.now(UTC)))
        storage.recommend(["a", "b"], now=now)

    try:
        for _ in range(40):
            process = context.Process(target=child)
            process.start()
            process.join(timeout=20)
            if process.exitcode is None:
                process.kill()
            assert process.exitcode == 0
    finally:
        storage.close()


def test_a_clock_running_ahead_counts_now_but_not_in_a_chosen_now(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=10)  # another host's clock, say
    storage.create(outcome(make_entry, "w", at=ahead))
    storage.create(outcome(make_entry, "w", at=datetime.now(UTC) - timedelta(minutes=1)))
    (current,) = storage.worker_scores()
    assert current.attempts == 2
    (chosen,) = storage.worker_scores(now=datetime.now(UTC))
    assert chosen.attempts == 1
    assert storage.recommend(["v", "w"], policy="lower_bound") == ["w", "v"]


def test_a_success_of_json_null_is_no_outcome_on_every_backend(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create(make_entry(metadata={"worker_id": "w", "success": None}, created_at=NOW))
    storage.create(outcome(make_entry, "w", success=None))  # absent: a success
    (score,) = storage.worker_scores(now=NOW)
    assert (score.successes, score.failures) == (1, 0)
    storage.rebuild_rollups()
    (rebuilt,) = storage.worker_scores(now=NOW + timedelta(seconds=1))
    assert (rebuilt.successes, rebuilt.failures) == (1, 0)


def test_a_backend_that_keeps_no_rating_types_counts_every_types_ratings(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    """A third-party backend need not keep the rating types' table: its store counts every
    type's ratings, and asking it for other rating types is one clear error."""
    from orchestrator_feedback import FeedbackError
    from orchestrator_feedback.storage.backends.sqlite import SQLiteBackend

    class KeepsNone(SQLiteBackend):
        keeps_rating_types = False

    with FeedbackStorage(KeepsNone(str(tmp_path / "a.db"), pool_size=2, timeout=5)) as storage:
        assert storage.rating_types == set(FeedbackType)
    with pytest.raises(FeedbackError, match="keeps no rating types"):
        FeedbackStorage(
            KeepsNone(str(tmp_path / "b.db"), pool_size=2, timeout=5), rating_types=["general"]
        )
