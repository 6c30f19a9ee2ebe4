"""Does the advice close the loop? Seeded simulations, and the cost of asking.

- Bandit: ten workers with hidden success probabilities 0.50, 0.55, ..., 0.95; 2,000 tasks
  allocated through ``allocation_advice`` (the built-in plugin, a SQLite store), each
  outcome fired back through ``task_completed`` / ``task_failed``. Each task draws one
  uniform number, shared by every policy and the oracle (common random numbers); the
  oracle always picks the 0.95 worker. Successes as a fraction of the oracle's, per policy,
  over seeds.
- Drift: the 0.95 worker ran the 20,000 tasks before, 30 minutes apart (about 417 days),
  and succeeded at 95%; then it drops to 0.50 (the others keep theirs, unseen so far; the
  best is now 0.90). How recent the past is matters: with the same 20,000 outcomes packed into
  the last 100 days, a 10-day half-life reached only 0.68-0.76 of the oracle (7 days:
  0.82-0.85), since the old outcomes still outweigh the new ones for longer. The next 1,000 tasks,
  30 minutes apart, ask ``recommend(now=...)`` and store their outcome at that time; with a
  half-life of 10 days and without.
- Objectives: six workers with a success probability and a time each, ``time`` against an
  oracle that always picks the shortest time per success (successes per second of work);
  five with a success probability and a usual rating, ``quality`` against an oracle that
  picks the best rated value per task. Common random numbers, as above.
- Speed: ``recommend`` on a store of 1,000,000 entries (the rollups benchmark's: 200
  workers, 8 task types, 90 days), for each objective, against the bare arithmetic it
  needs (its draws per candidate over counts in a dict, the formula, then a sort), side by
  side; and ``worker_scores`` on the same store.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import rollups
from benchmarks.timing import compare, fmt
from orchestrator_feedback import FeedbackEntry, FeedbackStorage, get_plugin_manager
from orchestrator_feedback.config import config_from_mapping

SKILLS = [0.50 + 0.05 * n for n in range(10)]
WORKERS = [f"w{n}" for n in range(10)]
POLICIES = ("thompson", "lower_bound", "mean", "random")


def bandit(workdir: Path, policy: str, seed: int, tasks: int) -> tuple[int, int]:
    """Successes of ``policy`` and of the oracle over ``tasks`` tasks."""
    path = workdir / f"bandit-{policy}-{seed}.db"
    advice = {"policy": "thompson" if policy == "random" else policy}
    pm = get_plugin_manager(
        config_from_mapping({"database": str(path), "advice": advice}), load_entrypoints=False
    )
    plugin = pm.feedback_plugin
    assert plugin is not None
    plugin.storage._scoring._rng.seed(seed)  # the built-in plugin's draws, reproducible
    draws = random.Random(seed)
    chooser = random.Random(seed + 1)
    successes = oracle = 0
    skill = dict(zip(WORKERS, SKILLS, strict=True))
    for task in range(tasks):
        luck = draws.random()
        oracle += luck < SKILLS[-1]
        task_id = f"task-{task}"
        if policy == "random":
            worker = chooser.choice(WORKERS)
        else:
            ranking = pm.hook.allocation_advice(
                task_id=task_id, task_type="sim", candidates=WORKERS, metadata={}
            )
            worker = ranking[0]
        if luck < skill[worker]:
            successes += 1
            pm.hook.task_completed(
                task_id=task_id,
                worker_id=worker,
                success=True,
                execution_time=None,
                output_quality=None,
                metadata={"task_type": "sim"},
            )
        else:
            pm.hook.task_failed(
                task_id=task_id,
                worker_id=worker,
                error_type="Failed",
                error_message="no",
                stack_trace=None,
                metadata={"task_type": "sim"},
            )
    pm.close()
    return successes, oracle


def drift(workdir: Path, half_life: timedelta | None, seed: int, tasks: int) -> tuple[int, int]:
    """Successes with ``half_life`` and the oracle's, after the best worker degrades."""
    path = workdir / f"drift-{half_life}-{seed}.db"
    start = datetime(2026, 3, 1, tzinfo=UTC)
    history = random.Random(seed)
    past = []
    for n in range(20_000):  # the 20,000 tasks before, 30 minutes apart, all given to it
        at = start - timedelta(minutes=30 * (20_000 - n))
        past.append(_outcome("w9", at, history.random() < 0.95))
    skills = dict(zip(WORKERS, SKILLS, strict=True))
    skills["w9"] = 0.50
    best = max(skills.values())
    draws = random.Random(seed + 2)
    successes = oracle = 0
    with FeedbackStorage(path) as storage:
        storage.create_many(past)
        rng = random.Random(seed + 3)
        for task in range(tasks):
            now = start + timedelta(minutes=30 * task)
            luck = draws.random()
            oracle += luck < best
            worker = storage.recommend(WORKERS, half_life=half_life, now=now, rng=rng)[0]
            won = luck < skills[worker]
            successes += won
            storage.create(_outcome(worker, now, won))
    return successes, oracle


TIME_PROFILES = {  # worker: (success probability, seconds a task takes)
    "sure-slow": (0.99, 3.0),
    "sure": (0.95, 1.6),
    "fast-flaky": (0.60, 0.6),  # the best: 1.0 s per success
    "fast": (0.85, 1.0),
    "flaky": (0.50, 1.0),
    "slow": (0.90, 2.5),
}
QUALITY_PROFILES = {  # worker: (success probability, its usual rating)
    "sure-poor": (0.98, 2),
    "good": (0.85, 4),  # the best: 0.85 * 0.75
    "excellent-flaky": (0.55, 5),
    "average": (0.90, 3),
    "good-flaky": (0.65, 4),
}
_WORDS = {1: "poor", 2: "low", 3: "average", 4: "good", 5: "excellent"}


def objective_bandit(workdir: Path, objective: str, seed: int, tasks: int) -> tuple[float, float]:
    """What ``objective`` is for, with the built-in plugin's advice (Thompson) and with an
    oracle that always picks the best worker, over the same draws: for "time", successes
    per second of work (each task's time is its worker's times a shared factor 0.8-1.2);
    for "quality", the sum of ``(r - 1) / 4`` over successful results (a worker's rating is
    its usual one 70% of the time, one lower or higher otherwise)."""
    path = workdir / f"objective-{objective}-{seed}.db"
    pm = get_plugin_manager(
        config_from_mapping({"database": str(path), "advice": {"objective": objective}}),
        load_entrypoints=False,
    )
    plugin = pm.feedback_plugin
    assert plugin is not None
    plugin.storage._scoring._rng.seed(seed)
    profiles = TIME_PROFILES if objective == "time" else QUALITY_PROFILES
    workers = list(profiles)
    if objective == "time":
        best = min(workers, key=lambda w: profiles[w][1] / profiles[w][0])
    else:
        best = max(workers, key=lambda w: profiles[w][0] * (profiles[w][1] - 1))
    draws = random.Random(seed)
    totals = {"ours": [0.0, 0.0], "oracle": [0.0, 0.0]}  # reward, seconds
    for task in range(tasks):
        luck, factor, shade = draws.random(), draws.uniform(0.8, 1.2), draws.random()
        ranking = pm.hook.allocation_advice(
            task_id=f"t{task}", task_type="sim", candidates=workers, metadata={}
        )
        for who, worker in (("ours", ranking[0]), ("oracle", best)):
            p, level = profiles[worker]
            won = luck < p
            seconds = level * factor if objective == "time" else 1.0
            rating = level if objective == "quality" else 3
            rating += -1 if shade < 0.15 else 1 if shade > 0.85 else 0
            rating = min(max(rating, 1), 5)
            totals[who][0] += won if objective == "time" else won * (rating - 1) / 4
            totals[who][1] += seconds
            if who == "ours":
                pm.hook.task_completed(
                    task_id=f"t{task}",
                    worker_id=worker,
                    success=won,
                    execution_time=seconds,
                    output_quality=_WORDS[rating] if won and objective == "quality" else None,
                    metadata={"task_type": "sim"},
                )
    pm.close()
    if objective == "time":
        return totals["ours"][0] / totals["ours"][1], totals["oracle"][0] / totals["oracle"][1]
    return totals["ours"][0], totals["oracle"][0]


def _outcome(worker: str, at: datetime, success: bool) -> FeedbackEntry:
    return FeedbackEntry(
        task_id="t",
        feedback_type="task_completion",
        content="outcome",
        metadata={"worker_id": worker, "success": success},
        created_at=at,
    )


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (seeds {min(values):.3f}-{max(values):.3f})"


def speed(workdir: Path, quick: bool) -> list[str]:
    """``recommend`` against the bare arithmetic, and ``worker_scores``, on a big store."""
    folder = Path(os.environ.get("BENCH_ROLLUPS_DIR", workdir))
    folder.mkdir(parents=True, exist_ok=True)
    total = 100_000 if quick else 1_000_000
    path = folder / f"rollups-{total}.db"
    rollups.build(path, total)
    lines = []
    with FeedbackStorage(path) as storage:
        began = time.perf_counter()
        scores = storage.worker_scores()
        first = time.perf_counter() - began
        counts = {
            s.worker_id: (
                s.successes,
                s.failures,
                s.attempts,
                (s.mean_execution_time or 0.0) * s.attempts,
                s.ratings,
                ((s.mean_rating or 1.0) - 1) / 4 * s.ratings,
            )
            for s in scores
        }
        rng = random.Random(1)
        lines.append(
            f"advice speed at {total:,} entries ({len(counts)} workers): first call reads the "
            f"score book in {fmt(first).strip()}; later calls read memory"
        )
        for size in (10, 100):
            candidates = list(counts)[:size]
            load = {w: float(n % 3) for n, w in enumerate(candidates)}
            pooled = sum(counts[w][3] for w in candidates) / sum(counts[w][2] for w in candidates)
            for objective, half_life in (
                ("success", None),
                ("time", None),
                ("time", timedelta(days=10)),
                ("quality", None),
            ):

                def ours(
                    candidates: list[str] = candidates,
                    half_life: object = half_life,
                    objective: str = objective,
                    load: dict[str, float] = load,
                ) -> object:
                    return storage.recommend(
                        candidates,
                        half_life=half_life,  # type: ignore[arg-type]
                        rng=rng,
                        objective=objective,
                        load=load if objective == "time" else None,
                    )

                def bare(
                    candidates: list[str] = candidates,
                    objective: str = objective,
                    load: dict[str, float] = load,
                    pooled: float = pooled,
                ) -> object:
                    # What each objective needs: its draws per candidate, then a sort.
                    keys = {}
                    for w in candidates:
                        s, f, n, total_time, ratings, x = counts[w]
                        p = rng.betavariate(1 + s, 1 + f)
                        if objective == "time":
                            d = 2 * (pooled + total_time) / rng.gammavariate(2 * (1 + n), 1)
                            keys[w] = load[w] * d + d / p
                        elif objective == "quality":
                            keys[w] = -p * rng.betavariate(1 + x, 1 + ratings - x)
                        else:
                            keys[w] = -p
                    return sorted(candidates, key=keys.__getitem__)

                label = objective + (" with load" if objective == "time" else "")
                label += ", no decay" if half_life is None else ", half-life 10d"
                result = compare(
                    f"  recommend, {size} candidates, {label}",
                    ours,
                    bare,
                    calls=200 if quick else 1_000,
                    rounds=5,
                    limit=2.0,
                )
                lines.append(result.line())
        for half_life in (None, timedelta(days=10)):
            times = []
            for _ in range(21):
                began = time.perf_counter()
                storage.worker_scores(half_life=half_life)
                times.append(time.perf_counter() - began)
            median = statistics.median(times)
            label = "no decay" if half_life is None else "half-life 10d"
            lines.append(
                f"  worker_scores, {label:<14} median {fmt(median)} (21 calls, "
                f"{fmt(min(times)).strip()}-{fmt(max(times)).strip()}; limit 20 ms, "
                f"{'ok' if median <= 0.020 else 'OVER'})"
            )
        since = datetime.now(UTC) - timedelta(days=7)
        began = time.perf_counter()
        storage.worker_scores(since=since, half_life=timedelta(days=10))
        lines.append(
            f"  worker_scores since 7 days ago (read from the rollup, not the book): "
            f"{fmt(time.perf_counter() - began).strip()}"
        )
    return lines


def run(workdir: Path, *, quick: bool) -> list[str]:
    """The simulations over seeds, then the speed; the printable lines."""
    seeds = range(2) if quick else range(5)
    tasks = 500 if quick else 2_000
    lines = [f"advice, bandit: 10 workers 0.50-0.95, {tasks:,} tasks, successes / oracle's"]
    for policy in POLICIES:
        ratios = []
        for seed in seeds:
            won, oracle = bandit(workdir, policy, seed, tasks)
            ratios.append(won / oracle)
        verdict = ""
        if policy == "thompson":
            verdict = f"; target 0.95, {'ok' if statistics.median(ratios) >= 0.95 else 'OVER'}"
        lines.append(f"  {policy:<12} {_spread(ratios)}{verdict}")
    for objective, measure in (("time", "successes per second"), ("quality", "rated value")):
        profiles = TIME_PROFILES if objective == "time" else QUALITY_PROFILES
        lines.append(
            f"advice, objective {objective}: {len(profiles)} workers, {tasks:,} tasks, "
            f"{measure} / oracle's"
        )
        ratios = []
        for seed in seeds:
            ours, oracle = objective_bandit(workdir, objective, seed, tasks)
            ratios.append(ours / oracle)
        verdict = "ok" if statistics.median(ratios) >= 0.95 else "OVER"
        lines.append(f"  thompson     {_spread(ratios)}; target 0.95, {verdict}")
    drift_tasks = 300 if quick else 1_000
    lines.append(
        f"advice, drift: the best worker (the 20,000 tasks before, 30 min apart, 95%) "
        f"drops to 50%; "
        f"{drift_tasks:,} tasks 30 min apart, successes / oracle's"
    )
    for half_life in (timedelta(days=10), None):
        ratios = []
        for seed in seeds:
            won, oracle = drift(workdir, half_life, seed, drift_tasks)
            ratios.append(won / oracle)
        label = "half-life 10d" if half_life else "no decay"
        verdict = ""
        if half_life:
            verdict = f"; target 0.8, {'ok' if statistics.median(ratios) >= 0.8 else 'OVER'}"
        lines.append(f"  {label:<14} {_spread(ratios)}{verdict}")
    lines.extend(speed(workdir, quick))
    return lines


if __name__ == "__main__":  # pragma: no cover
    import sys
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick="--quick" in sys.argv):
        print(line, flush=True)
