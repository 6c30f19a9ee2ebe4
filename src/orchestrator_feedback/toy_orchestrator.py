"""A toy asyncio orchestrator that feeds orchestrator-feedback through its hooks.

A manager decomposes jobs into subtasks and allocates each to the worker that
``allocation_advice`` ranks first (the built-in plugin's Thompson sampling over the scores
of earlier runs); workers succeed or fail at random, each with its own hidden skill (real
exceptions, real tracebacks); a reviewer rates the results, and every step fires the
matching hook. It ends by printing the workers' scores, the allocations of every run so
far (run it again and the flaky worker gets fewer subtasks), and the feedback by type.

This file is also ``examples/toy_orchestrator.py``; run it with ``make demo``,
``orchestrator-feedback demo`` or ``python examples/toy_orchestrator.py``. It uses only
the public API, as a host would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import traceback
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackStorage,
    FeedbackType,
    get_plugin_manager,
)
from orchestrator_feedback.manager import FeedbackPluginManager

WORKERS = ("worker-ada", "worker-bob", "worker-cy", "worker-dee")
SKILL = {"worker-ada": 0.95, "worker-bob": 0.8, "worker-cy": 0.65, "worker-dee": 0.5}


class WorkerCrashed(RuntimeError):
    """What a toy worker raises when it fails its subtask."""


TASK_TYPE = "subtask"


async def fire(manager: FeedbackPluginManager, hook: str, **event: object) -> object:
    """Fire a hook off the event loop: storing feedback never blocks the orchestrator."""
    return await asyncio.to_thread(getattr(manager.hook, hook), **event)


async def run_subtask(
    manager: FeedbackPluginManager, rng: random.Random, task_id: str, worker: str
) -> None:
    """One worker's attempt at one subtask, reported through the hooks."""
    # The time the work takes is drawn, so that a seed gives the same runs (a measured
    # time would differ by the event loop's delays, and advice ranks by time).
    elapsed = rng.uniform(0.001, 0.01)
    await asyncio.sleep(elapsed)
    skill = SKILL[worker]
    try:
        if rng.random() > skill:
            raise WorkerCrashed(f"{worker} ran out of memory on {task_id}")
    except WorkerCrashed as error:
        await fire(
            manager,
            "task_failed",
            task_id=task_id,
            worker_id=worker,
            error_type=type(error).__name__,
            error_message=str(error),
            stack_trace=traceback.format_exc(),
            metadata={"attempt": 1, "task_type": TASK_TYPE},
        )
        return
    quality = (
        "excellent" if rng.random() < skill - 0.3 else "high" if rng.random() < skill else "low"
    )
    await fire(
        manager,
        "task_completed",
        task_id=task_id,
        worker_id=worker,
        success=True,
        execution_time=round(elapsed, 4),
        output_quality=quality,
        metadata={"task_type": TASK_TYPE},
    )
    await fire(
        manager,
        "worker_performance_measured",
        task_id=task_id,
        worker_id=worker,
        performance_metrics={
            "speed": round(rng.uniform(skill - 0.2, 1.0), 2),
            "accuracy": round(min(1.0, rng.uniform(skill - 0.1, skill + 0.1)), 2),
        },
        metadata={},
    )
    rating = max(1, min(5, round(skill * 5 + rng.uniform(-1.5, 0.5))))
    await fire(
        manager,
        "task_reviewed",
        task_id=task_id,
        reviewer_id="manager",
        rating=rating,
        comment=f"{worker}'s result for {task_id}: {quality} quality",
        metadata={"worker_id": worker},
    )


async def run_job(manager: FeedbackPluginManager, rng: random.Random, job: int, run: int) -> None:
    """Decompose one job, allocate its subtasks as advised, run them concurrently."""
    job_id = f"job-{job:03d}"
    subtasks = [f"{job_id}.{part}" for part in range(rng.randint(2, 4))]
    await fire(
        manager,
        "task_decomposed",
        task_id=job_id,
        subtask_ids=subtasks,
        effectiveness=round(rng.uniform(0.5, 1.0), 2),
        metadata={"worker_id": "manager"},
    )
    runs = []
    for subtask in subtasks:
        ranking = await fire(
            manager,
            "allocation_advice",
            task_id=subtask,
            task_type=TASK_TYPE,
            candidates=list(WORKERS),
            metadata={"job": job_id},
        )
        advised = isinstance(ranking, list) and bool(ranking)
        worker = ranking[0] if advised else rng.choice(WORKERS)  # type: ignore[index]
        await fire(
            manager,
            "worker_allocated",
            task_id=subtask,
            worker_id=worker,
            allocation_score=None,
            allocation_reason="allocation_advice" if advised else "random",
            metadata={"job": job_id, "run": run},
        )
        # Each subtask draws from a generator of its own: the same seed gives the same
        # outcomes whatever order the event loop runs the subtasks in.
        own = random.Random(f"{rng.random()}:{subtask}")
        runs.append(run_subtask(manager, own, subtask, worker))
    await asyncio.gather(*runs)


async def run_orchestrator(
    manager: FeedbackPluginManager, jobs: int, seed: int, run: int = 1
) -> None:
    """Run ``jobs`` jobs one after another (each job's subtasks concurrently), as run number
    ``run``. One job at a time, so each allocation is advised from the outcomes of the jobs
    before it, and the same seed gives the same allocations and the same figures."""
    rng = random.Random(seed + run)
    plugin = manager.feedback_plugin
    if plugin is not None:
        plugin.advice_rng = random.Random(f"advice:{seed}:{run}")
    for job in range(jobs):
        await run_job(manager, rng, job, run)


def allocations_per_run(storage: FeedbackStorage) -> dict[int, dict[str, int]]:
    """How many subtasks each worker was given in each run of the demo so far."""
    runs: dict[int, dict[str, int]] = {}
    for entry in storage.iter_all(feedback_type=FeedbackType.ALLOCATION_FEEDBACK):
        run = entry.metadata.get("run")
        worker = entry.metadata.get("worker_id")
        if isinstance(run, int) and worker in SKILL:
            counts = runs.setdefault(run, dict.fromkeys(WORKERS, 0))
            counts[str(worker)] += 1
    return dict(sorted(runs.items()))


def print_report(storage: FeedbackStorage, console: Console) -> None:
    """Per-worker and per-type tables, read back from the store."""
    workers = Table(title="Workers, best first (by the success rate's lower bound)")
    for column in ("worker", "hidden skill", "attempts", "success rate (95% interval)", "rating"):
        workers.add_column(column, justify="left" if column == "worker" else "right")
    for score in storage.worker_scores(task_type=TASK_TYPE):
        rate = (
            "-"
            if score.success_rate is None
            else f"{score.success_rate:.0%} ({score.success_lower:.0%}-{score.success_upper:.0%})"
        )
        rating = "-" if score.mean_rating is None else f"{score.mean_rating:.2f}"
        skill = SKILL.get(score.worker_id)
        # Stored text is data: Text() shows markup in a worker id as written.
        workers.add_row(
            Text(score.worker_id),
            "-" if skill is None else f"{skill:.0%}",
            f"{score.attempts:.0f}",
            rate,
            rating,
        )
    console.print(workers)

    runs = allocations_per_run(storage)
    loop = Table(title="Subtasks given to each worker, per run (the loop at work)")
    loop.add_column("run", justify="right")
    for worker in WORKERS:
        loop.add_column(worker, justify="right")
    for run, counts in runs.items():
        total = sum(counts.values()) or 1
        loop.add_row(str(run), *(f"{counts[w]} ({counts[w] / total:.0%})" for w in WORKERS))
    console.print(loop)

    summary = storage.get_summary()
    types = Table(title=f"Feedback by type ({summary.total_count} entries)")
    types.add_column("type")
    types.add_column("count", justify="right")
    types.add_column("avg rating", justify="right")
    for feedback_type in FeedbackType:
        count = summary.feedback_by_type[feedback_type]
        if count:
            rows = storage.execute_query(
                "SELECT AVG(rating) FROM feedback WHERE feedback_type = ?", (feedback_type.value,)
            )
            average = rows[0][0]
            types.add_row(
                feedback_type.value, str(count), "-" if average is None else f"{average:.2f}"
            )
    console.print(types)


def run_demo(database: str, jobs: int = 8, seed: int = 7, console: Console | None = None) -> None:
    """Run the toy orchestrator against ``database`` and print what was stored."""
    console = console or Console()
    manager = get_plugin_manager(FeedbackConfig(database=database))
    plugin = manager.feedback_plugin
    if plugin is None:  # pragma: no cover - FeedbackConfig above enables it
        raise RuntimeError("the built-in plugin is disabled")
    before = plugin.storage.count()
    run = max(allocations_per_run(plugin.storage), default=0) + 1
    started = time.perf_counter()
    asyncio.run(run_orchestrator(manager, jobs, seed, run))
    elapsed = time.perf_counter() - started
    stored = plugin.storage.count() - before
    console.print(
        Text(
            f"Run {run}: {jobs} jobs, {stored} feedback entries stored in {database} "
            f"in {elapsed:.2f}s ({manager.counters.subscriber_failures} plugin failures)."
        )
    )
    print_report(plugin.storage, console)
    manager.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry: ``python examples/toy_orchestrator.py [--database PATH]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default="feedback.db", help="path or URL (default: feedback.db)"
    )
    parser.add_argument("--jobs", type=int, default=8, help="how many jobs to run (default: 8)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    arguments = parser.parse_args(argv)
    run_demo(arguments.database, arguments.jobs, arguments.seed)


if __name__ == "__main__":
    main()
