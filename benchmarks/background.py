"""Background write mode: what a hook call costs the host, what the writer sustains, and
what a slow subscriber does to the host (nothing, we hope)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from benchmarks.store import INSERT, raw_connection
from benchmarks.timing import fmt
from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackPluginManager,
    get_plugin_manager,
    hookimpl,
)
from orchestrator_feedback.events import task_completed_entry
from orchestrator_feedback.serialization import entry_to_row


class SlowSubscriber:
    """Sleeps 100 ms per committed entry, on the writer thread."""

    @hookimpl
    def feedback_recorded(self, entry: FeedbackEntry) -> None:
        """Take a long time."""
        time.sleep(0.1)


def _manager(path: Path) -> FeedbackPluginManager:
    config = FeedbackConfig(database=str(path), write_mode="background")
    return get_plugin_manager(config, load_entrypoints=False)


def _call_times(manager: FeedbackPluginManager, count: int, prefix: str) -> list[float]:
    fire = manager.hook.task_completed
    clock = time.perf_counter_ns
    times = []
    for number in range(count):
        start = clock()
        fire(
            task_id=f"{prefix}-{number}",
            worker_id=f"worker-{number % 16}",
            success=True,
            execution_time=1.25,
            output_quality="high",
            metadata={"queue": "default"},
        )
        times.append((clock() - start) / 1e9)
    return times


def _raw_grouped_inserts(path: Path, total: int) -> float:
    """Rows/s of raw sqlite3 storing the rows of ``total`` events in commits of 10,000:
    the floor under what any writer can sustain on this machine, with no host at all."""
    rows = [
        entry_to_row(
            task_completed_entry(
                f"raw-{number}", f"worker-{number % 16}", True, 1.25, "high", {"queue": "default"}
            )
        )
        for number in range(total)
    ]
    connection = raw_connection(path)
    start = time.perf_counter()
    for first in range(0, total, 10_000):
        connection.executemany(INSERT, rows[first : first + 10_000])
        connection.commit()
    elapsed = time.perf_counter() - start
    connection.close()
    return total / elapsed


def _sustained_rate(path: Path, total: int) -> float:
    """Events/s from the first hook call to the flush that commits the last of ``total``."""
    manager = _manager(path)
    start = time.perf_counter()
    _call_times(manager, total, "throughput")
    manager.flush()
    rate = total / (time.perf_counter() - start)
    manager.close()
    return rate


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the background-mode benchmarks; return the printable lines."""
    lines = []
    rounds = 3
    calls = 5_000 if quick else 20_000
    call_medians = []
    for round_number in range(rounds):
        manager = _manager(workdir / f"bg-latency-{round_number}.db")
        times = _call_times(manager, calls, "latency")
        manager.close()
        call_medians.append(statistics.median(times))
    median = statistics.median(call_medians)
    quartiles = statistics.quantiles(times, n=100)  # of the last round
    lines.append(
        f"{'background hook call (host side)':<44} median {fmt(median)} (limit 10 µs, "
        f"{'ok' if median <= 10e-6 else 'OVER'}; round medians {fmt(min(call_medians))}-"
        f"{fmt(max(call_medians))}); last round p25 {fmt(quartiles[24])}, "
        f"p99 {fmt(quartiles[98])}"
    )

    total = 20_000 if quick else 200_000
    ours, raw = [], []
    for round_number in range(rounds):  # interleaved with the baseline: the machine drifts
        ours.append(_sustained_rate(workdir / f"bg-throughput-{round_number}.db", total))
        raw.append(_raw_grouped_inserts(workdir / f"bg-raw-{round_number}.db", total))
    rate, raw_rate = statistics.median(ours), statistics.median(raw)
    lines.append(
        f"{'background sustained, ' + format(total, ',') + ' events':<44} {rate:,.0f} events/s "
        f"committed (floor 50,000, {'ok' if rate >= 50_000 else 'UNDER'}; rounds "
        f"{min(ours):,.0f}-{max(ours):,.0f}); raw sqlite3 executemany of the same rows, "
        f"prebuilt, in commits of 10,000, one thread: {raw_rate:,.0f} rows/s, ours "
        f"{rate / raw_rate:.2f}x of that"
    )

    slow_calls = 2_000 if quick else 5_000
    plain, slowed = [], []
    for round_number in range(5):  # paired rounds: the machine drifts between them
        manager = _manager(workdir / f"bg-plain-{round_number}.db")
        plain.append(statistics.median(_call_times(manager, slow_calls, "plain")))
        manager.close()
        manager = _manager(workdir / f"bg-slow-{round_number}.db")
        slow = SlowSubscriber()
        manager.register(slow)
        slowed.append(statistics.median(_call_times(manager, slow_calls, "slow")))
        manager.unregister(slow)  # or close() would wait 100 ms for each entry still queued
        manager.close()
    changes = [with_it / without - 1 for with_it, without in zip(slowed, plain, strict=True)]
    change = statistics.median(changes)
    lines.append(
        f"{'background hook call, 100 ms subscriber':<44} median {fmt(statistics.median(slowed))} "
        f"vs {fmt(statistics.median(plain))} without: {change:+.0%} (limit +20%, "
        f"{'ok' if change <= 0.2 else 'OVER'}; median of paired rounds, "
        f"{min(changes):+.0%} to {max(changes):+.0%})"
    )
    return lines
