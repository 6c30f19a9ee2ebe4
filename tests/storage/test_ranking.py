"""Ranking by objective (``storage/ranking.py``): each formula of ``docs/scores.md`` against
values worked out by hand, through ``FeedbackStorage.recommend`` and ``allocation_advice``."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

import pytest

from orchestrator_feedback import FeedbackStorage, FeedbackValidationError, get_plugin_manager
from orchestrator_feedback.config import config_from_mapping
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.storage.ranking import _drawn
from orchestrator_feedback.storage.scores import Tally

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def outcomes(
    worker: str, successes: int, failures: int, seconds: float, ratings: tuple[int, ...] = ()
) -> list[FeedbackEntry]:
    """``successes`` and ``failures`` of ``worker``, each taking ``seconds``; ``ratings`` on
    its first successes."""
    entries = []
    for n in range(successes + failures):
        rating = ratings[n] if n < len(ratings) else None
        entries.append(
            FeedbackEntry(
                task_id=f"{worker}-{n}",
                feedback_type=FeedbackType.TASK_COMPLETION,
                content="done",
                rating=rating,
                metadata={
                    "worker_id": worker,
                    "success": n < successes,
                    "execution_time": seconds,
                },
                created_at=NOW - timedelta(hours=1),
            )
        )
    return entries


@pytest.fixture
def store() -> FeedbackStorage:
    return FeedbackStorage(":memory:")


def test_time_sends_work_to_an_idle_flaky_worker_when_the_good_one_is_busy(
    store: FeedbackStorage,
) -> None:
    # good: p = 1, d = 1 s; flaky: p = 0.5, d = 1 s.
    store.create_many(outcomes("good", 10, 0, 1.0) + outcomes("flaky", 5, 5, 1.0))
    rank = lambda load: store.recommend(  # noqa: E731
        ["good", "flaky"], policy="mean", objective="time", load=load, now=NOW
    )
    # T(good) = 3 * 1 + 1 / 1 = 4 s; T(flaky) = 0 + 1 / 0.5 = 2 s.
    assert rank({"good": 3}) == ["flaky", "good"]
    # T(good) = 0.5 + 1 = 1.5 s < 2 s.
    assert rank({"good": 0.5}) == ["good", "flaky"]
    # Equal loads: the time per success decides, 1 s against 2 s.
    assert rank({"good": 2, "flaky": 2}) == ["good", "flaky"]
    # success ignores load
    assert store.recommend(
        ["flaky", "good"], policy="mean", objective="success", load={"good": 9}, now=NOW
    ) == ["good", "flaky"]


def test_time_gives_a_slow_worker_work_only_when_it_would_finish_sooner(
    store: FeedbackStorage,
) -> None:
    store.create_many(outcomes("fast", 10, 0, 1.0) + outcomes("slow", 10, 0, 5.0))
    rank = lambda load: store.recommend(  # noqa: E731
        ["slow", "fast"], policy="mean", load=load, now=NOW
    )  # "time" is the default objective
    assert rank(None) == ["fast", "slow"]  # 1 s against 5 s
    assert rank({"fast": 3}) == ["fast", "slow"]  # 3 + 1 = 4 s against 5 s
    assert rank({"fast": 5}) == ["slow", "fast"]  # 5 + 1 = 6 s against 5 s
    # Success alone cannot tell them apart: the given order stays.
    assert store.recommend(["slow", "fast"], policy="mean", objective="success", now=NOW) == [
        "slow",
        "fast",
    ]


def test_time_by_lower_bound_uses_wilsons_bound_and_the_mean_time(
    store: FeedbackStorage,
) -> None:
    store.create_many(outcomes("a", 8, 2, 2.0) + outcomes("b", 3, 0, 1.0))
    z = NormalDist().inv_cdf(0.975)

    def wilson_low(successes: float, n: float) -> float:
        p = successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half

    time_a = 2.0 / wilson_low(8, 10)  # 2 / 0.4902 = 4.08 s
    time_b = 1.0 / wilson_low(3, 3)  # 1 / 0.4385 = 2.28 s
    assert (round(time_a, 2), round(time_b, 2)) == (4.08, 2.28)
    assert store.recommend(["a", "b", "never"], policy="lower_bound", now=NOW) == [
        "b",
        "a",
        "never",
    ]
    # With a second per slot ahead of b: 1 + 2.28 = 3.28 s, still before a's 4.08 s;
    # with two: 4.28 s, after it.
    assert store.recommend(["a", "b"], policy="lower_bound", load={"b": 1}, now=NOW)[0] == "b"
    assert store.recommend(["a", "b"], policy="lower_bound", load={"b": 2}, now=NOW)[0] == "a"


def test_thompson_time_draws_success_then_duration_per_candidate(
    store: FeedbackStorage,
) -> None:
    store.create_many(outcomes("a", 6, 2, 2.0) + outcomes("b", 3, 3, 0.5))
    load = {"a": 1.0}
    pooled = (8 * 2.0 + 6 * 0.5) / 14  # the candidates' mean time
    for seed in range(30):
        rng = random.Random(seed)
        expected = {}
        for worker, (s, f, n, total) in {"a": (6, 2, 8, 16.0), "b": (3, 3, 6, 3.0)}.items():
            p = rng.betavariate(1 + s, 1 + f)
            d = 1 / rng.gammavariate(1 + n, 1 / (pooled + total))
            expected[worker] = load.get(worker, 0.0) * d + d / p
        order = sorted(expected, key=expected.__getitem__)
        assert store.recommend(["a", "b"], load=load, rng=random.Random(seed), now=NOW) == order


def test_quality_ranks_by_the_rating_of_successful_results(store: FeedbackStorage) -> None:
    # a: always succeeds, rated 2 (0.25 on the 0-1 scale); b: succeeds half the time,
    # rated 5 (1.0): q * p is 0.25 against 0.5.
    store.create_many(outcomes("a", 10, 0, 1.0, (2,) * 10) + outcomes("b", 5, 5, 1.0, (5,) * 5))
    assert store.recommend(["a", "b"], policy="mean", objective="quality", now=NOW) == ["b", "a"]
    assert store.recommend(["a", "b"], policy="mean", objective="success", now=NOW) == ["a", "b"]
    # Thompson: q ~ Beta(1 + x, 1 + n - x), x the ratings' sum on the 0-1 scale.
    for seed in range(20):
        rng = random.Random(seed)
        drawn = {}
        for worker, (s, f, n, x) in {"a": (10, 0, 10, 2.5), "b": (5, 5, 5, 5.0)}.items():
            p = rng.betavariate(1 + s, 1 + f)
            q = rng.betavariate(1 + x, 1 + n - x)
            drawn[worker] = -q * p
        order = sorted(drawn, key=drawn.__getitem__)
        ranked = store.recommend(["a", "b"], objective="quality", rng=random.Random(seed), now=NOW)
        assert ranked == order


def test_without_times_or_load_time_ranks_as_success_does(store: FeedbackStorage) -> None:
    entries = [
        FeedbackEntry(
            task_id=f"t{n}",
            feedback_type=FeedbackType.TASK_COMPLETION,
            content="done",
            metadata={"worker_id": f"w{n % 3}", "success": n % 3 != 2 or n % 2 == 0},
            created_at=NOW - timedelta(hours=1),
        )
        for n in range(60)
    ]
    store.create_many(entries)
    for seed in range(20):
        by_time = store.recommend(["w0", "w1", "w2", "w9"], rng=random.Random(seed), now=NOW)
        by_success = store.recommend(
            ["w0", "w1", "w2", "w9"], objective="success", rng=random.Random(seed), now=NOW
        )
        assert by_time == by_success


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"objective": "speed"}, "objective"),
        ({"load": {"w1": -1}}, "load"),
        ({"load": {"w1": float("nan")}}, "load"),
        ({"load": {"w1": True}}, "load"),
        ({"load": ["w1"]}, "load"),
    ],
)
def test_a_wrong_objective_or_load_names_the_argument(
    store: FeedbackStorage, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(FeedbackValidationError) as raised:
        store.recommend(["w1", "w2"], **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_allocation_advice_takes_load_and_objective_from_metadata() -> None:
    manager = get_plugin_manager(
        config_from_mapping({"database": ":memory:", "advice": {"policy": "mean"}}),
        load_entrypoints=False,
    )
    manager.feedback_plugin.storage.create_many(
        outcomes("good", 10, 0, 1.0) + outcomes("flaky", 5, 5, 1.0)
    )
    advice = manager.hook.allocation_advice
    assert advice(task_id="t", task_type=None, candidates=["flaky", "good"], metadata={}) == [
        "good",
        "flaky",
    ]
    busy = {"load": {"good": 3}}
    assert advice(task_id="t", task_type=None, candidates=["good", "flaky"], metadata=busy) == [
        "flaky",
        "good",
    ]
    by_success = {"load": {"good": 3}, "objective": "success"}
    assert advice(
        task_id="t", task_type=None, candidates=["flaky", "good"], metadata=by_success
    ) == ["good", "flaky"]
    # A wrong load is no advice (logged), never an exception into the host.
    assert advice(task_id="t", task_type=None, candidates=["good"], metadata={"load": 5}) is None
    manager.close()


@pytest.mark.parametrize(
    ("in_flight", "slots", "ahead"),
    [(0, 2, 0.0), (1, 2, 0.0), (2, 2, 0.5), (5, 2, 2.0), (3, 1, 3.0), (4, 4, 0.25)],
)
def test_tasks_ahead_counts_only_what_a_free_slot_would_not_absorb(
    in_flight: int, slots: int, ahead: float
) -> None:
    from orchestrator_feedback.storage.ranking import tasks_ahead

    assert tasks_ahead(in_flight, slots) == ahead


def test_the_drawn_duration_follows_its_posterior() -> None:
    """Thompson's duration for a worker with 9 timings summing to 18 s, the candidates'
    pooled mean 2 s: d = k / beta, beta ~ Gamma(2 * 10, 2 + 18), an inverse gamma of mean
    2 * 20 / 19 = 2.105 s and standard deviation 2.105 / sqrt(18) = 0.496 s (hand-computed;
    an exponential model's would be 2.222 s and 0.786 s)."""
    tally = Tally(successes=9, timed=9, time_sum=18.0)
    rng = random.Random(7)
    draws = [_drawn("time", tally, 1.0, 2.0, rng)[1] for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(40 / 19, rel=0.02)
    assert statistics.stdev(draws) == pytest.approx(40 / 19 / math.sqrt(18), rel=0.05)
