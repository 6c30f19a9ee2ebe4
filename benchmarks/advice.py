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
- Speed: ``recommend`` on a store of 1,000,000 entries (the rollups benchmark's: 200
  workers, 8 task types, 90 days) against the bare arithmetic it needs (one
  ``betavariate`` per candidate over counts in a dict, then a sort), side by side; and
  ``worker_scores`` on the same store.
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
        counts = {s.worker_id: (s.successes, s.failures) for s in scores}
        rng = random.Random(1)
        lines.append(
            f"advice speed at {total:,} entries ({len(counts)} workers): first call reads the "
            f"score book in {fmt(first).strip()}; later calls read memory"
        )
        for size in (10, 100):
            candidates = list(counts)[:size]
            for half_life in (None, timedelta(days=10)):

                def ours(
                    candidates: list[str] = candidates, half_life: object = half_life
                ) -> object:
                    return storage.recommend(candidates, half_life=half_life, rng=rng)  # type: ignore[arg-type]

                def bare(candidates: list[str] = candidates) -> object:
                    draws = {
                        w: rng.betavariate(1 + counts[w][0], 1 + counts[w][1]) for w in candidates
                    }
                    return sorted(candidates, key=draws.__getitem__, reverse=True)

                label = "no decay" if half_life is None else "half-life 10d"
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
