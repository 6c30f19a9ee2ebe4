"""Run a small Dask computation on a LocalCluster and record its lifecycle as feedback.

python feedback_dask.py                       # writes ./dask-feedback.db
orchestrator-feedback --database dask-feedback.db workers
orchestrator-feedback --database dask-feedback.db list --type error_report --format table
"""

from __future__ import annotations

import os
import random
import shlex
import time

from distributed import Client, LocalCluster

from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin


def transform(x: int) -> int:
    """Most inputs work; multiples of 13 fail."""
    time.sleep(random.uniform(0.001, 0.02))
    if x % 13 == 0 and x:
        raise ArithmeticError(f"{x} is unlucky")
    return x * x


def main() -> None:
    """Map, reduce, and report."""
    os.environ.setdefault("ORCHESTRATOR_FEEDBACK_DATABASE", "dask-feedback.db")
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(FeedbackSchedulerPlugin())  # the one line that records feedback
        futures = client.map(transform, range(60))
        results = client.gather(futures, errors="skip")
        print(f"{len(results)} of {len(futures)} tasks succeeded")
    database = os.environ["ORCHESTRATOR_FEEDBACK_DATABASE"]
    print(
        f"feedback in {database}; try: "
        f"orchestrator-feedback --database {shlex.quote(database)} workers"
    )


if __name__ == "__main__":
    main()
