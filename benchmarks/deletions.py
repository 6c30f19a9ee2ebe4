"""Long deletions beside a writer: ``purge`` of many entries while a sync host keeps calling
``task_completed``. Prints the host's worst and p99 wait (against its median call in the
same run) and how many of its entries were not stored (the target: none, and a worst wait
of about a tenth of a second)."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator_feedback import FeedbackConfig, FeedbackEntry, FeedbackType, get_plugin_manager


def _old_entries(count: int) -> list[FeedbackEntry]:
    start = datetime.now(UTC) - timedelta(days=400)
    return [
        FeedbackEntry(
            task_id=f"old-{n}",
            feedback_type=FeedbackType.TASK_COMPLETION if n % 3 else FeedbackType.ERROR_REPORT,
            content="an old outcome",
            rating=1 + n % 5,
            metadata={"worker_id": f"w{n % 200}", "task_type": f"k{n % 20}", "success": n % 7 > 0},
            created_at=start + timedelta(seconds=n * 60),
        )
        for n in range(count)
    ]


def purge_beside_a_writer(path: Path, count: int) -> dict[str, float]:
    """Fill ``path`` with ``count`` old entries, then purge them while a host writes."""
    pm = get_plugin_manager(FeedbackConfig(database=str(path)), load_entrypoints=False)
    storage = pm.feedback_plugin.storage  # type: ignore[union-attr]
    storage.import_entries(_old_entries(count))
    waits: list[float] = []
    stop = threading.Event()

    def host() -> None:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            pm.hook.task_completed(
                task_id=f"new-{n}",
                worker_id="w1",
                success=True,
                execution_time=0.1,
                output_quality=None,
                metadata={},
            )
            waits.append(time.perf_counter() - started)
            n += 1
            time.sleep(0.005)

    writer = threading.Thread(target=host)
    writer.start()
    time.sleep(0.3)
    started = time.perf_counter()
    purged = storage.purge(timedelta(days=30))
    took = time.perf_counter() - started
    time.sleep(0.3)
    stop.set()
    writer.join()
    stored_new = storage.count()
    result = {
        "purged": float(purged),
        "purge_seconds": took,
        "worst_wait": max(waits),
        "p99_wait": statistics.quantiles(waits, n=100)[98],
        "median_wait": statistics.median(waits),
        "host_calls": float(len(waits)),
        "not_stored": float(len(waits) - stored_new),
    }
    pm.close()
    return result


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the benchmark; return the printable lines."""
    count = 50_000 if quick else 200_000
    figures = purge_beside_a_writer(workdir / "purge.db", count)
    verdict = "ok" if figures["not_stored"] == 0 and figures["worst_wait"] <= 0.2 else "OVER"
    return [
        f"purge {int(figures['purged']):,} beside a sync writer: "
        f"purge {figures['purge_seconds']:.2f} s; "
        f"host's wait worst {figures['worst_wait'] * 1000:.0f} ms, p99 "
        f"{figures['p99_wait'] * 1000:.1f} ms, median {figures['median_wait'] * 1000:.2f} ms "
        f"over {int(figures['host_calls'])} calls; not stored {int(figures['not_stored'])} "
        f"(target: 0 and worst <= 200 ms) {verdict}"
    ]
