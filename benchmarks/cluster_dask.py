"""Advice on a real Dask cluster against Dask's own placement (plain ``client.submit``).

A ``LocalCluster`` of two worker processes with one thread each; tasks of 20 ms. The odd
worker is the one Dask's own placement picks when both are idle (found by a probe: the case
where the scheduler meets it first); it fails half its attempts (``flaky``), or none
(``equal``); in ``drift`` it is good at first and fails 80% of its attempts from half the
tasks on. Each run uses
a task type of its own, so what one run stored never informs another. Run by
``python -m benchmarks.cluster``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster, as_completed, get_worker

from orchestrator_feedback import FeedbackConfig, get_plugin_manager
from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin
from orchestrator_feedback.adapters.dask_advice import AdvisedSubmitter

TASK_S = 0.02


def job(n: int, scenario: str, half: int, odd: str) -> str:
    """20 ms of work; fails as the scenario says for the worker it runs on."""
    time.sleep(TASK_S)
    name = str(get_worker().name)
    if scenario == "flaky" and name == odd and random.random() < 0.5:
        raise RuntimeError(f"worker {name} dropped task {n}")
    if scenario == "drift" and name == odd and n >= half and random.random() < 0.8:
        raise RuntimeError(f"worker {name} dropped task {n}")
    return name


def _name(n: int) -> str:
    time.sleep(TASK_S)
    return str(get_worker().name)


def _preferred(client: Client) -> str:
    """The worker Dask's own placement gives most of 20 tasks sent one after another as
    each finishes (as the runs send them)."""
    names = []
    pending = as_completed([client.submit(_name, 0, pure=False)])
    for future in pending:
        names.append(future.result())
        if len(names) < 20:
            pending.add(client.submit(_name, len(names), pure=False))
    return max(set(names), key=names.count)


Result = dict[str, float]


def _run(
    client: Client,
    plugin: FeedbackSchedulerPlugin,
    submit: Callable[..., Any],
    task_type: str,
    scenario: str,
    tasks: int,
    in_flight: int,
    retries: int,
    odd: str,
) -> Result:
    """``tasks`` tasks, at most ``in_flight`` at a time; successes, failed attempts,
    makespan, and in drift the good worker's share of the 100 tasks after the change."""
    half = tasks // 2
    began = time.perf_counter()
    pending = as_completed()
    sent = 0
    ran_on: dict[int, int] = {}

    def send() -> None:
        nonlocal sent
        future = submit(
            job, sent, scenario, half, odd, key=f"{task_type}-{sent}", pure=False, retries=retries
        )
        future.n = sent  # type: ignore[attr-defined]
        pending.add(future)
        sent += 1

    while sent < min(in_flight, tasks):
        send()
    successes = 0
    for future in pending:
        if future.status == "finished":
            successes += 1
            ran_on[future.n] = future.result()
        if sent < tasks:
            send()
    makespan = time.perf_counter() - began
    assert plugin.flush(timeout=60)
    storage = plugin.manager.feedback_plugin.storage  # type: ignore[union-attr]
    scores = storage.worker_scores(task_type=task_type)
    failed = sum(score.failures for score in scores)
    result = {"successes": successes, "failed": failed, "makespan": makespan}
    # Where each task ran last (its last allocation), for the odd worker's share.
    last = {}
    for entry in storage.get_by_type("allocation_feedback"):
        if entry.task_id.startswith(f"{task_type}-"):
            last[int(entry.task_id.rsplit("-", 1)[1])] = entry.metadata.get("worker_name")
    result["odd_share"] = sum(name == odd for name in last.values()) / max(len(last), 1)
    storage.check_alerts()
    addresses = {
        address for address, info in client.scheduler_info()["workers"].items()
        if str(info["name"]) == str(odd)
    }  # fmt: skip
    raised = [
        alert for alert in storage.alerts(limit=10_000)
        if alert.task_type == task_type and alert.kind == "degraded"
    ]  # fmt: skip
    result["failing_alerts"] = sum(alert.worker_id in addresses for alert in raised)
    result["other_alerts"] = sum(alert.worker_id not in addresses for alert in raised)
    if scenario == "drift":
        after = [last.get(n) for n in range(half, half + 100)]
        result["drifted_share_100"] = sum(name == odd for name in after) / len(after)
        result["drifted_share_51_100"] = sum(name == odd for name in after[50:]) / 50
    return result


SCENARIOS = {
    # name: (scenario, tasks, in flight, retries)
    "flaky, 8 in flight": ("flaky", 400, 8, 0),
    "flaky, retried until it succeeds, 8 in flight": ("flaky", 400, 8, 50),
    "flaky, retried until it succeeds, 1 in flight": ("flaky", 200, 1, 50),
    "equal, 8 in flight": ("equal", 400, 8, 0),
    "drift, 1 in flight": ("drift", 400, 1, 0),
}


def run(workdir: Path, seeds: range) -> dict[str, dict[str, list[Result]]]:
    """Every scenario with plain ``client.submit`` and with ``AdvisedSubmitter``, per seed
    (alternating which goes first); the results per scenario and mode."""
    manager = get_plugin_manager(
        FeedbackConfig(database=str(workdir / "dask-cluster.db")), load_entrypoints=False
    )
    plugin = FeedbackSchedulerPlugin(plugin_manager=manager)
    results: dict[str, dict[str, list[Result]]] = {}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,  # each failed task would log its traceback
        ) as cluster,
        Client(cluster) as client,
    ):
        cluster.scheduler.add_plugin(plugin)
        client.wait_for_workers(2)
        submitter = AdvisedSubmitter(client, manager)
        for label, (scenario, tasks, in_flight, retries) in SCENARIOS.items():
            per_mode: dict[str, list[Result]] = {"dask": [], "advice": []}
            for seed in seeds:
                manager.feedback_plugin.advice_rng = random.Random(seed)  # type: ignore[union-attr]
                order = ("dask", "advice") if seed % 2 == 0 else ("advice", "dask")
                for mode in order:
                    # Probed before each run: which worker Dask prefers depends on the data
                    # its workers hold (results still referenced), which earlier runs change.
                    odd = _preferred(client)
                    submit = client.submit if mode == "dask" else submitter.submit
                    task_type = f"{scenario}{in_flight}r{retries}s{seed}{mode}"
                    per_mode[mode].append(
                        _run(
                            client,
                            plugin,
                            submit,
                            task_type,
                            scenario,
                            tasks,
                            in_flight,
                            retries,
                            odd,
                        )
                    )
            results[label] = per_mode
    manager.close()
    return results
