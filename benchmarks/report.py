"""The HTML report of a year: 1,000,000 entries over 365 days and 200 workers (the rollups
benchmark's year store), ``report --days 365``: the time to write it (median of 5, limit
2 s) and its size (limit 300 KB). The cheaper case, the default 30 days, alongside."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from benchmarks import rollups
from benchmarks.timing import fmt
from orchestrator_feedback import FeedbackStorage
from orchestrator_feedback.views.report import write_report


def run(workdir: Path, *, quick: bool) -> list[str]:
    """The report's timings and sizes; the printable lines."""
    folder = Path(os.environ.get("BENCH_ROLLUPS_DIR", workdir))
    folder.mkdir(parents=True, exist_ok=True)
    total = 100_000 if quick else 1_000_000
    path = folder / ("rollups-year.db" if not quick else "rollups-year-quick.db")
    rollups.build(path, total, days=365)
    lines = []
    with FeedbackStorage(path) as storage:
        for days in (365, 30):
            out = workdir / f"report-{days}.html"
            times = []
            size = 0
            for _ in range(5):
                began = time.perf_counter()
                size = write_report(storage, out, days=days)
                times.append(time.perf_counter() - began)
            median = statistics.median(times)
            limits = median <= 2.0 and size <= 300_000
            lines.append(
                f"report --days {days} at {total:,} entries over a year ({rollups.WORKERS} "
                f"workers): median {fmt(median)} ({fmt(min(times)).strip()}-"
                f"{fmt(max(times)).strip()}), {size:,} bytes (limits 2 s and 300 KB, "
                f"{'ok' if limits else 'OVER'})"
            )
    return lines


if __name__ == "__main__":  # pragma: no cover
    import sys
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick="--quick" in sys.argv):
        print(line)
