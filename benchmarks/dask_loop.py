"""The Dask scheduler's own loop with our plugin, on a real ``LocalCluster(processes=True)``.

One workload of 10,001 tasks (5,001 ``inc`` and a tree of 5,000 ``add`` over them, submitted
as one graph) runs in interleaved rounds three ways: without a plugin, with a plugin that only
counts transitions, and with ``FeedbackSchedulerPlugin()`` (the default: recording in its own
process). Each plugin's ``transition`` is timed from outside, the same way for both. The
limits (issue: the scheduler's loop is not slowed): mean time in ``transition`` at most 2x the
counting plugin's, p99 at most 100 µs, wall time within 2% of no plugin (medians of rounds).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

INCREMENTS = 5_001


def inc(x: int) -> int:
    """One small task."""
    return x + 1


def add(a: int, b: int) -> int:
    """One step of the reduction tree."""
    return a + b


def _graph() -> tuple[dict[str, Any], str]:
    graph: dict[str, Any] = {f"inc-{i}": (inc, i) for i in range(INCREMENTS)}
    level = list(graph)
    depth = 0
    while len(level) > 1:
        upper = []
        for index in range(0, len(level) - 1, 2):
            key = f"add-{depth}-{index}"
            graph[key] = (add, level[index], level[index + 1])
            upper.append(key)
        if len(level) % 2:
            upper.append(level[-1])
        level, depth = upper, depth + 1
    return graph, level[0]


def _timed(plugin: Any) -> list[float]:
    """Wrap ``plugin.transition`` so each call's duration is kept."""
    durations: list[float] = []
    transition = plugin.transition
    clock = time.perf_counter

    def timed(*args: Any, **kwargs: Any) -> None:
        began = clock()
        transition(*args, **kwargs)
        durations.append(clock() - began)

    plugin.transition = timed
    return durations


def _run(kind: str) -> tuple[float, list[float], int]:
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin

    class Counting(SchedulerPlugin):  # type: ignore[misc]
        name = "counting"

        def __init__(self) -> None:
            self.count = 0

        def transition(self, *args: Any, **kwargs: Any) -> None:
            self.count += 1

    plugin: Any = {"none": None, "counting": Counting, "ours": FeedbackSchedulerPlugin}[kind]
    plugins = [] if plugin is None else [plugin()]
    durations = _timed(plugins[0]) if plugins else []
    graph, last = _graph()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            scheduler_kwargs={"plugins": plugins},
        ) as cluster,
        Client(cluster) as client,
    ):
        client.submit(inc, 0).result()  # the workers are up
        began = time.perf_counter()
        client.get(graph, last)
        wall = time.perf_counter() - began
    dropped = plugins[0].dropped if kind == "ours" else 0
    return wall, durations, dropped


def _summary(durations: list[float]) -> tuple[float, float]:
    ordered = sorted(durations)
    return statistics.fmean(ordered), ordered[int(len(ordered) * 0.99)]


def run(workdir: Path, *, rounds: int) -> list[str]:
    """Interleaved rounds of the three ways; the printable lines."""
    database = workdir / "dask-loop.db"
    os.environ["ORCHESTRATOR_FEEDBACK_DATABASE"] = str(database)
    walls: dict[str, list[float]] = {"none": [], "counting": [], "ours": []}
    means: dict[str, list[float]] = {"counting": [], "ours": []}
    p99s: dict[str, list[float]] = {"counting": [], "ours": []}
    stored: list[int] = []
    dropped = 0
    try:
        for _ in range(rounds):
            for kind in walls:
                wall, durations, lost = _run(kind)
                walls[kind].append(wall)
                if durations:
                    mean, p99 = _summary(durations)
                    means[kind].append(mean)
                    p99s[kind].append(p99)
                if kind == "ours":
                    dropped += lost
                    with sqlite3.connect(database) as connection:
                        stored.append(
                            connection.execute("SELECT count(*) FROM feedback").fetchone()[0]
                        )
                        connection.execute("DELETE FROM feedback")
    finally:
        del os.environ["ORCHESTRATOR_FEEDBACK_DATABASE"]

    def spread(values: list[float], scale: float = 1e6) -> str:
        return f"{min(values) * scale:.1f}-{max(values) * scale:.1f}"

    mean_ratio = statistics.median(means["ours"]) / statistics.median(means["counting"])
    p99 = statistics.median(p99s["ours"])
    wall_ratio = statistics.median(walls["ours"]) / statistics.median(walls["none"])
    wall_rounds = [ours / none for ours, none in zip(walls["ours"], walls["none"], strict=True)]
    verdict = {True: "ok", False: "OVER"}
    name = "dask LocalCluster(processes=True), 10,001 tasks"
    return [
        f"{name}: {rounds} interleaved rounds, {stored[-1]:,} entries stored a round, "
        f"{dropped} dropped",
        f"{'  mean time in transition(), ours / counting':<44} ratio {mean_ratio:5.2f}x "
        f"(limit 2x, {verdict[mean_ratio <= 2]}; ours {spread(means['ours'])} µs, "
        f"counting {spread(means['counting'])} µs)",
        f"{'  p99 time in transition(), ours':<44} {p99 * 1e6:8.1f} µs (limit 100 µs, "
        f"{verdict[p99 <= 100e-6]}; rounds {spread(p99s['ours'])} µs; counting "
        f"{statistics.median(p99s['counting']) * 1e6:.1f} µs)",
        f"{'  wall time, ours / no plugin':<44} ratio {wall_ratio:5.3f}x (limit 1.02x, "
        f"{verdict[wall_ratio <= 1.02]}; rounds {min(wall_rounds):.3f}-{max(wall_rounds):.3f}; "
        f"no plugin {statistics.median(walls['none']):.2f} s, counting "
        f"{statistics.median(walls['counting']):.2f} s)",
    ]
