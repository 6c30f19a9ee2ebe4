"""A Prometheus scrape of the store at 1,000,000 entries (the rollups benchmark's store):
``generate_latest`` over the store's collector, median of 21 scrapes; limit 50 ms."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from prometheus_client import generate_latest

from benchmarks import rollups
from benchmarks.timing import fmt
from orchestrator_feedback import FeedbackStorage
from orchestrator_feedback.views.metrics import metrics_registry


def run(workdir: Path, *, quick: bool) -> list[str]:
    """The scrape's median and spread; the printable line."""
    folder = Path(os.environ.get("BENCH_ROLLUPS_DIR", workdir))
    folder.mkdir(parents=True, exist_ok=True)
    total = 100_000 if quick else 1_000_000
    path = folder / f"rollups-{total}.db"
    rollups.build(path, total)
    with FeedbackStorage(path) as storage:
        registry = metrics_registry(storage)
        size = len(generate_latest(registry))
        times = []
        for _ in range(21):
            began = time.perf_counter()
            generate_latest(registry)
            times.append(time.perf_counter() - began)
    median = statistics.median(times)
    return [
        f"metrics scrape at {total:,} entries ({size:,} bytes): median {fmt(median)} "
        f"(21 scrapes, {fmt(min(times)).strip()}-{fmt(max(times)).strip()}; limit 50 ms, "
        f"{'ok' if median <= 0.050 else 'OVER'})"
    ]


if __name__ == "__main__":  # pragma: no cover
    import sys
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick="--quick" in sys.argv):
        print(line)
