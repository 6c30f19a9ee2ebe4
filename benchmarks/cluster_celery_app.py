"""The Celery app of the cluster benchmark: the worker processes import it by name.

The scenario reaches the workers through the environment: ``BENCH_SCENARIO`` (``flaky``,
``slow``, ``equal`` or ``drift``) and ``BENCH_HALF`` (the task number from which the drift
begins). The odd worker's node name starts with ``odd@``: it fails half its tasks
(``flaky``) or takes five times as long (``slow``); in ``drift`` the ``good@`` worker fails
80% of its tasks from task ``BENCH_HALF`` on. Each run sends its own task name (``job0``,
``job1``...), so that each run's scores start empty.
"""

from __future__ import annotations

import os
import random
import time

from celery import Celery

from orchestrator_feedback.adapters.celery import connect_celery

BROKER = os.environ.get("BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
TASK_S = 0.05
RUNS = 40

app = Celery("bench_cluster", broker=BROKER, backend="rpc://")
app.conf.update(
    task_default_queue="bench-cluster",
    worker_direct=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
connect_celery(app)


def _job(self: object, n: int) -> str:
    """50 ms of work (250 ms on a slow worker); fails as the scenario says."""
    hostname: str = self.request.hostname  # type: ignore[attr-defined]
    scenario = os.environ.get("BENCH_SCENARIO", "equal")
    odd = hostname.startswith("odd@")
    time.sleep(TASK_S * (5 if odd and scenario == "slow" else 1))
    if odd and scenario == "flaky" and random.random() < 0.5:
        raise RuntimeError(f"{hostname} dropped task {n}")
    half = int(os.environ.get("BENCH_HALF", "0"))
    if not odd and scenario == "drift" and n >= half and random.random() < 0.8:
        raise RuntimeError(f"{hostname} dropped task {n}")
    return hostname


JOBS = {
    f"job{run}": app.task(name=f"job{run}", bind=True)(_job)  # type: ignore[misc]
    for run in range(RUNS)
}
