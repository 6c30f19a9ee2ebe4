"""From commit to ``follow``: a writer in another process commits an entry every 20-120 ms,
stamped with the machine's monotonic clock just before ``create``; a follower at the default
poll (0.2 s) notes when each arrives. Median, 95th percentile and worst over 60 entries, on
SQLite (a file) and PostgreSQL (the benchmarks' server, when it answers). Limit: 0.5 s."""

from __future__ import annotations

import multiprocessing
import random
import statistics
import time
from pathlib import Path

from benchmarks import postgres
from benchmarks.timing import fmt
from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

ENTRIES = 60


def _write(target: str, count: int) -> None:
    rng = random.Random(7)
    with FeedbackStorage(target) as storage:
        time.sleep(0.5)  # the follower is reading by then
        for n in range(count):
            time.sleep(0.02 + rng.random() * 0.1)
            storage.create(
                FeedbackEntry(
                    task_id=f"t{n}",
                    feedback_type=FeedbackType.TASK_COMPLETION,
                    content="done",
                    metadata={"sent": time.monotonic()},
                )
            )


def latencies(target: str, count: int) -> list[float]:
    """Seconds from just before each commit to the follower having the entry."""
    with FeedbackStorage(target) as storage:
        entries = storage.follow()
        writer = multiprocessing.get_context("spawn").Process(target=_write, args=(target, count))
        writer.start()
        delays = []
        for entry in entries:
            delays.append(time.monotonic() - float(entry.metadata["sent"]))
            if len(delays) == count:
                break
        entries.close()
        writer.join()
    return delays


def _line(name: str, delays: list[float]) -> str:
    ordered = sorted(delays)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    worst = ordered[-1]
    return (
        f"follow latency, {name}: median {fmt(statistics.median(ordered))}, p95 {fmt(p95)}, "
        f"worst {fmt(worst)} ({len(ordered)} commits, poll 0.2 s; limit 0.5 s, "
        f"{'ok' if worst <= 0.5 else 'OVER'})"
    )


def run(workdir: Path, *, quick: bool) -> list[str]:
    """The latency lines, SQLite then PostgreSQL."""
    count = 20 if quick else ENTRIES
    lines = [_line("SQLite", latencies(str(workdir / "follow.db"), count))]
    try:
        import psycopg

        psycopg.connect(postgres.URL, connect_timeout=3).close()
    except Exception as error:
        return [*lines, f"follow latency, PostgreSQL: skipped ({type(error).__name__})"]
    with postgres.fresh_schema() as url:
        lines.append(_line("PostgreSQL", latencies(url, count)))
    return lines


if __name__ == "__main__":  # pragma: no cover
    import sys
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick="--quick" in sys.argv):
        print(line)
