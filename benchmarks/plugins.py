"""The plugin system's benchmarks: a hook fired through the manager into durable storage,
and the isolating dispatch against pluggy's plain hook call."""

from __future__ import annotations

import itertools
from pathlib import Path

import pluggy

from benchmarks.store import INSERT, raw_connection, raw_row
from benchmarks.timing import Comparison, compare
from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackPluginManager,
    get_plugin_manager,
    hookimpl,
    hookspecs,
)


class NoOp:
    """A subscriber that does nothing: what is left to measure is the dispatch."""

    @hookimpl
    def feedback_updated(self, entry: FeedbackEntry) -> None:
        """Do nothing."""


def bench_fire_task_completed(workdir: Path, rounds: int) -> Comparison:
    manager = get_plugin_manager(
        FeedbackConfig(database=str(workdir / "hook-ours.db")), load_entrypoints=False
    )
    raw = raw_connection(workdir / "hook-raw.db")
    numbers = itertools.count()
    rows = iter([raw_row() for _ in range(rounds * 700 + 200)])
    fire = manager.hook.task_completed

    def ours() -> None:
        number = next(numbers)
        fire(
            task_id=f"task-{number}",
            worker_id=f"worker-{number % 16}",
            success=True,
            execution_time=1.25,
            output_quality="high",
            metadata={"queue": "default"},
        )

    def raw_insert() -> None:
        raw.execute(INSERT, next(rows))
        raw.commit()

    try:
        return compare(
            "task_completed hook -> stored (sync)",
            ours,
            raw_insert,
            calls=500,
            rounds=rounds,
            limit=2.0,
        )
    finally:
        manager.close()
        raw.close()


def bench_isolated_dispatch(rounds: int) -> Comparison:
    plain = pluggy.PluginManager("orchestrator_feedback")
    plain.add_hookspecs(hookspecs)
    isolating = FeedbackPluginManager(FeedbackConfig())
    for number in range(10):
        plain.register(NoOp(), name=f"noop-{number}")
        isolating.register(NoOp(), name=f"noop-{number}")
    entry = FeedbackEntry(task_id="t", feedback_type="general", content="c")
    ours, theirs = isolating.hook.feedback_updated, plain.hook.feedback_updated
    return compare(
        "isolating dispatch, 10 no-op subscribers",
        lambda: ours(entry=entry),
        lambda: theirs(entry=entry),
        calls=5000,
        rounds=rounds,
        limit=1.5,
    )


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the plugin benchmarks; return the printable lines."""
    rounds = 3 if quick else 7
    return [
        bench_fire_task_completed(workdir, rounds).line(),
        bench_isolated_dispatch(rounds).line(),
    ]
