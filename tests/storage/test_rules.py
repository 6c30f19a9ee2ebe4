"""One rule, many renderings: the score book (Python, entry by entry), the rollups (SQL
triggers and folds) and the answers over a period (SQL over the entries) name the same
workers and task types and count the same outcomes, for any JSON in ``worker_id``,
``task_type`` and ``success``, on every backend. The oracle here is written from the text
of docs/scores.md, not from ``orchestrator_feedback.rules``."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.sampled_from([7, -0, 10**18 - 1, 10**18, -(2**63), 2**63 - 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, 7.0, -0.0, 1.5])
    | st.sampled_from(["7", "true", "w1", "", "1.5"])
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=4),
    lambda children: (
        st.lists(children, max_size=2)
        | st.dictionaries(st.sampled_from(["a", "b"]), children, max_size=2)
    ),
    max_leaves=3,
)
# The values whose names differ between renderings if any rendering strays, drawn often.
edge_values = st.sampled_from(
    [True, False, 7, "7", "true", "True", 1, "1", 1.0, 1.5, None, -0.0, 10**18 - 1, 10**18]
)
names = edge_values | st.sampled_from([{"a": 1}, [1], "", "w1"]) | json_values
keys = st.fixed_dictionaries(
    {},
    optional={"worker_id": names, "task_type": names, "success": names},
)
entries = st.lists(
    st.builds(
        FeedbackEntry,
        task_id=st.just("t"),
        feedback_type=st.sampled_from(FeedbackType),
        content=st.just("c"),
        rating=st.none() | st.integers(1, 5),
        metadata=keys,
        created_at=st.sampled_from([NOW - timedelta(hours=h) for h in (1, 30, 24 * 40)]),
    ),
    min_size=1,
    max_size=6,
)


def named(value: Any) -> str | None:
    """docs/scores.md: a string as it is, true and false as words, a whole number of at most
    18 digits in decimal; nothing else names a worker or a task type."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int) and len(str(abs(value))) <= 18:
        return str(value)
    return None


def expected(stored: list[FeedbackEntry]) -> dict[str, list[float]]:
    """Per worker: successes, failures, ratings, rating sum (docs/scores.md)."""
    counts: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in stored:
        worker = named(entry.metadata.get("worker_id"))
        if worker is None:
            continue
        kind = entry.feedback_type
        flag = entry.metadata.get("success", True)
        success = kind is FeedbackType.TASK_COMPLETION and flag is True
        failure = kind is FeedbackType.ERROR_REPORT or (
            kind is FeedbackType.TASK_COMPLETION and flag is False
        )
        rated = entry.rating is not None  # every type rates, unless configured otherwise
        if success or failure or rated:
            tally = counts[worker]
            tally[0] += success
            tally[1] += failure
            tally[2] += rated
            tally[3] += (entry.rating or 0) if rated else 0
    return dict(counts)


def scores(storage: FeedbackStorage, **window: Any) -> dict[str, list[float]]:
    return {
        score.worker_id: [
            score.successes,
            score.failures,
            score.ratings,
            score.ratings * (score.mean_rating or 0),
        ]
        for score in storage.worker_scores(**window)
    }


def outcomes_by_pair(stored: list[FeedbackEntry]) -> dict[tuple[str, str], int]:
    """Per worker and task type ("" when none is named): the outcomes (docs/scores.md)."""
    by_pair: dict[tuple[str, str], int] = defaultdict(int)
    for entry in stored:
        worker = named(entry.metadata.get("worker_id"))
        if worker is not None:
            pair = (worker, named(entry.metadata.get("task_type")) or "")
            flag = entry.metadata.get("success", True)
            # A success flag is JSON true or false, never 1 or 0 (which equal them in Python).
            by_pair[pair] += entry.feedback_type is FeedbackType.ERROR_REPORT or (
                entry.feedback_type is FeedbackType.TASK_COMPLETION
                and (flag is True or flag is False)
            )
    return by_pair


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(batch=entries)
def test_outcome_totals_follow_the_rules(batch: list[FeedbackEntry]) -> None:
    """``outcome_totals`` (the scores rollup per worker and task type) against the rules, on a
    store of each example's entries alone."""
    with FeedbackStorage(":memory:") as storage:
        storage.create_many(batch)
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for total in storage.outcome_totals():
            totals[total.worker_id, total.task_type] += total.successes + total.failures
        want = outcomes_by_pair(storage.get_all())
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in want.items() if v}


def test_every_rendering_of_the_rules_agrees(storage: FeedbackStorage) -> None:
    storage.worker_scores()  # the score book's page is read now, then kept by each commit
    # Not read again meanwhile: an entry committed as a page is read again in the background
    # can count twice until the next read (docs/scores.md), which is not a rule's rendering.
    storage._scoring.book.refresh = 3600

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(batch=entries)
    def check(batch: list[FeedbackEntry]) -> None:
        storage.create_many(batch)
        stored = storage.get_all()
        want = expected(stored)
        book = scores(storage)
        from_rollups = scores(storage, since=LONG_AGO)
        for got in (book, from_rollups):
            assert got.keys() == want.keys()
            for worker, values in want.items():
                assert got[worker] == pytest.approx(values), worker
        by_pair = outcomes_by_pair(stored)
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for total in storage.outcome_totals():
            totals[total.worker_id, total.task_type] += total.successes + total.failures
        assert {k: v for k, v in totals.items() if v} == {k: v for k, v in by_pair.items() if v}
        workers = {stats.worker_id: stats.count for stats in storage.worker_stats()}
        per_worker: dict[str, int] = defaultdict(int)
        for entry in stored:
            worker = named(entry.metadata.get("worker_id"))
            if worker is not None:
                per_worker[worker] += 1
        assert workers == per_worker
        for task_type in {pair[1] for pair in by_pair if pair[1]}:
            report = storage.failures(task_type=task_type)
            assert report.failures == sum(
                1
                for entry in stored
                if named(entry.metadata.get("task_type")) == task_type
                and (
                    entry.feedback_type is FeedbackType.ERROR_REPORT
                    or (
                        entry.feedback_type is FeedbackType.TASK_COMPLETION
                        and entry.metadata.get("success", True) is False
                    )
                )
            )
        assert storage.verify_rollups() == []

    check()


def test_a_worker_id_of_true_is_one_worker_everywhere(storage: FeedbackStorage) -> None:
    """The drift of the structure issue: ``worker_id: true`` was worker "True" in the score
    book, "1" in SQLite's rollups and "true" in PostgreSQL's."""
    storage.worker_scores()
    storage.create(
        FeedbackEntry(
            task_id="t",
            feedback_type=FeedbackType.TASK_COMPLETION,
            content="c",
            metadata={"worker_id": True},
        )
    )
    assert [s.worker_id for s in storage.worker_scores()] == ["true"]
    assert [s.worker_id for s in storage.worker_scores(since=LONG_AGO)] == ["true"]
    assert [s.worker_id for s in storage.worker_stats()] == ["true"]
    assert storage.recommend(["true", "1", "True"], policy="lower_bound")[0] == "true"


@pytest.mark.parametrize("value", [1e16, -2.110613891649416e16, 1.2345678901234568e17])
def test_a_whole_float_of_17_digits_names_no_worker_and_stays_a_float(
    storage: FeedbackStorage, value: float
) -> None:
    """A float is a fraction by the rules, whatever its digits; orjson writes these in
    exponent form, which PostgreSQL's jsonb read as a whole number: there it named a worker
    (in the rollups, not in the score book) and came back as an int."""
    storage.worker_scores()
    stored = storage.create(
        FeedbackEntry(
            task_id="t",
            feedback_type=FeedbackType.ERROR_REPORT,
            content="c",
            metadata={"worker_id": value, "nested": [value]},
            created_at=NOW,
        )
    )
    again = storage.get(stored.id)
    assert again is not None and again.metadata == {"worker_id": value, "nested": [value]}
    assert type(again.metadata["worker_id"]) is float
    assert storage.worker_scores() == storage.worker_scores(since=LONG_AGO) == []
    assert storage.worker_stats() == []
    assert storage.verify_rollups() == []
