"""Advice on real Celery workers against Celery's own placement (one shared queue).

Two prefork workers of two processes each on the local RabbitMQ (``good@`` and ``odd@``,
``cluster_celery_app``), 50 ms tasks, results through ``rpc://``. Per scenario the workers
start once; each run sends its own task name, with ``AdviceRouter`` as ``task_routes`` or
without (Celery's shared queue), the modes alternating which goes first. Run by
``python -m benchmarks.cluster``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import Celery

from orchestrator_feedback import FeedbackStorage, get_plugin_manager
from orchestrator_feedback.adapters.celery_advice import AdviceRouter
from orchestrator_feedback.config import config_from_mapping

ROOT = Path(__file__).resolve().parent.parent
APP = "benchmarks.cluster_celery_app"

Result = dict[str, float]

SCENARIOS = {
    # name: (worker behaviour, tasks, sent at once (else 20 a second))
    "flaky, streamed at 20/s": ("flaky", 600, False),
    "flaky, sent at once": ("flaky", 600, True),
    "slow, streamed at 20/s": ("slow", 300, False),
    "equal, streamed at 20/s": ("equal", 300, False),
    "drift, streamed at 20/s": ("drift", 600, False),
}


@contextmanager
def workers(workdir: Path, scenario: str, half: int, database: Path) -> Iterator[None]:
    """The two workers, for the length of the block."""
    env = {
        **os.environ,
        "BENCH_SCENARIO": scenario,
        "BENCH_HALF": str(half),
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
        "ORCHESTRATOR_FEEDBACK_PLUGINS": "",
        "PYTHONPATH": str(ROOT),
    }
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                APP,
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--loglevel=ERROR",
                "-Q",
                "bench-cluster",
                "--hostname",
                f"{name}@%h",
            ],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("good", "odd")
    ]
    try:
        yield
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
        for worker in started:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def _producer(router: AdviceRouter | None) -> Celery:
    from benchmarks.cluster_celery_app import BROKER

    app = Celery("bench_cluster", broker=BROKER, backend="rpc://")
    app.conf.update(task_default_queue="bench-cluster", worker_direct=True)
    if router is not None:
        app.conf.task_routes = (router,)
    return app


def _alerts(storage: FeedbackStorage, name: str, scenario: str) -> dict[str, float]:
    """The ``degraded`` alerts the workers' stores raised on task ``name``: on the worker
    that fails (``odd@``; in drift ``good@``) and on the other."""
    time.sleep(1.5)  # the workers' detection reads their last outcomes (a second apart)
    storage.check_alerts()
    raised = [
        alert for alert in storage.alerts(limit=10_000)
        if alert.task_type == name and alert.kind == "degraded"
    ]  # fmt: skip
    failing = "good@" if scenario == "drift" else "odd@"
    on_failing = sum(alert.worker_id.startswith(failing) for alert in raised)
    return {"failing_alerts": on_failing, "other_alerts": len(raised) - on_failing}


def _run(app: Celery, name: str, scenario: str, tasks: int, burst: bool, half: int) -> Result:
    """Send ``tasks`` tasks of ``name`` and wait for every result."""
    began = time.perf_counter()
    results = []
    for n in range(tasks):
        if not burst:
            delay = began + n / 20 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        results.append(app.send_task(name, (n,)))
    sending = time.perf_counter() - began
    hosts = []
    successes = 0
    for result in results:
        value = result.get(timeout=300, propagate=False)
        if isinstance(value, str):
            successes += 1
            hosts.append(value)
        else:
            hosts.append(str(value).split(" ", 1)[0])
    makespan = time.perf_counter() - began
    outcome = {
        "successes": successes,
        "failed": tasks - successes,
        "makespan": makespan,
        "sending": sending,
        "odd_share": sum(host.startswith("odd@") for host in hosts) / tasks,
    }
    if scenario == "drift":
        after = hosts[half : half + 100]
        outcome["drifted_share_100"] = sum(host.startswith("good@") for host in after) / 100
        outcome["drifted_share_51_100"] = sum(host.startswith("good@") for host in after[50:]) / 50
    return outcome


def run(workdir: Path, seeds: range) -> dict[str, dict[str, list[Result]]]:
    """Every scenario with Celery's shared queue and with ``AdviceRouter``, per seed."""
    results: dict[str, dict[str, list[Result]]] = {}
    run_number = 0
    for label, (scenario, tasks, burst) in SCENARIOS.items():
        database = workdir / f"celery-{scenario}-{int(burst)}.db"
        half = tasks // 2
        manager = get_plugin_manager(
            config_from_mapping({"database": str(database)}), load_entrypoints=False
        )
        router = AdviceRouter(_producer(None), manager)
        plain, advised = _producer(None), _producer(router)
        per_mode: dict[str, list[Result]] = {"celery": [], "advice": []}
        with workers(workdir, scenario, half, database):
            deadline = time.monotonic() + 60
            while len(router.ask_workers()) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Celery workers did not answer within a minute")
            for seed in seeds:
                manager.feedback_plugin.advice_rng = random.Random(seed)  # type: ignore[union-attr]
                order = ("celery", "advice") if seed % 2 == 0 else ("advice", "celery")
                for mode in order:
                    app = plain if mode == "celery" else advised
                    name = f"job{run_number}"
                    run_number += 1
                    outcome = _run(app, name, scenario, tasks, burst, half)
                    storage = manager.feedback_plugin.storage  # type: ignore[union-attr]
                    per_mode[mode].append({**outcome, **_alerts(storage, name, scenario)})
        manager.close()
        results[label] = per_mode
    return results
