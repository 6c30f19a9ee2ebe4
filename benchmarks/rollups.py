"""Whole-store answers from the rollups against the full-scan SQL that answers the same
question from the entries, in the same run, at 1,000,000 and 10,000,000 entries (200
workers, 8 types, 90 days).

The stores are built once by raw inserts and kept where ``BENCH_ROLLUPS_DIR`` says (default:
the run's temporary directory, so built anew each run): 10,000,000 entries take minutes.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.timing import fmt
from orchestrator_feedback import FeedbackStorage, FeedbackType
from orchestrator_feedback.storage.backends.sqlite_schema import apply_migrations

TYPES = [t.value for t in FeedbackType][:8]
WORKERS = 200
DAYS = 90

FULL_SCANS = {
    "summary": "SELECT feedback_type, rating, COUNT(*) FROM feedback "
    "GROUP BY feedback_type, rating",
    "workers": """SELECT metadata->>'$.worker_id' AS worker, COUNT(*), AVG(rating),
               SUM(feedback_type = 'error_report') AS failures
        FROM feedback WHERE metadata->>'$.worker_id' IS NOT NULL GROUP BY worker
        ORDER BY AVG(rating) IS NULL, AVG(rating) DESC, failures, COUNT(*) DESC, worker""",
    "trends": """SELECT substr(created_at, 1, 10) AS period, AVG(rating), COUNT(*) FROM feedback
        WHERE created_at >= ? GROUP BY period ORDER BY period""",
}


def build(path: Path, total: int, days: int = DAYS) -> None:
    """``total`` entries spread over 200 workers, 8 types and the last ``days``, rolled up."""
    if path.exists():
        with sqlite3.connect(path) as connection:
            if connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == total:
                return
        path.unlink()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    apply_migrations(connection, 0)
    start = datetime.now(UTC) - timedelta(days=days)
    step = days * 86_400 / total

    def rows() -> Iterator[tuple[object, ...]]:
        for number in range(total):
            moment = (start + timedelta(seconds=number * step)).strftime("%Y-%m-%d %H:%M:%S.%f")
            yield (
                str(uuid.uuid4()),
                f"task-{number // 4}",
                TYPES[number % 8],
                "c",
                None if number % 3 == 0 else number % 5 + 1,
                None,
                f'{{"worker_id":"w{number % WORKERS}","task_type":"k{number % 8}",'
                f'"success":{"false" if number % 10 == 0 else "true"},'
                f'"execution_time":{number % 1000 / 100}}}',
                moment,
                moment,
            )

    connection.execute("BEGIN")
    connection.executemany("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    connection.execute("COMMIT")
    connection.close()
    with FeedbackStorage(path) as storage:
        storage.rebuild_rollups()


def _median(work: Callable[[], object], calls: int) -> float:
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(path: Path, calls: int) -> dict[str, tuple[float, float]]:
    """Per question: (ours, the full scan), medians of ``calls`` calls, in seconds."""
    since = datetime.now(UTC) - timedelta(days=DAYS)
    since_text = since.strftime("%Y-%m-%d %H:%M:%S.%f")
    raw = sqlite3.connect(path)
    with FeedbackStorage(path) as storage:
        ours = {
            "summary": lambda: storage.get_summary(),
            "workers": storage.worker_stats,
            "trends": lambda: storage.trends(DAYS),
        }
        result = {}
        for name, answer in ours.items():
            arguments = (since_text,) if name == "trends" else ()

            def full_scan(
                sql: str = FULL_SCANS[name], parameters: tuple[str, ...] = arguments
            ) -> None:
                raw.execute(sql, parameters).fetchall()

            result[name] = (_median(answer, calls), _median(full_scan, 3))
    raw.close()
    return result


def rollup_bytes(path: Path) -> int | None:
    """The rollup tables' size on disk (SQLite's dbstat), or None where it is not built in."""
    try:
        with sqlite3.connect(path) as connection:
            (size,) = connection.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'feedback_rollup%'"
            ).fetchone()
    except sqlite3.OperationalError:
        return None
    return int(size or 0)


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Both sizes (100,000 in a quick run), side by side; the printable lines."""
    folder = Path(os.environ.get("BENCH_ROLLUPS_DIR", workdir))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [100_000] if quick else [1_000_000, 10_000_000]
    lines = []
    for total in sizes:
        path = folder / f"rollups-{total}.db"
        began = time.perf_counter()
        build(path, total)
        built = time.perf_counter() - began
        figures = measure(path, calls=20)
        size = rollup_bytes(path)
        lines.append(
            f"rollups at {total:,} entries ({WORKERS} workers, 8 types, {DAYS} days; built or "
            f"found in {built:.0f} s; rollup tables "
            f"{'n/a' if size is None else format(size / 1e6, '.2f') + ' MB'} on disk)"
        )
        for name, (ours, scan) in figures.items():
            speedup = scan / ours
            verdict = "ok" if ours <= 0.020 and speedup >= 30 else "OVER"
            lines.append(
                f"  {name:<42} ours {fmt(ours)}  full scan {fmt(scan)}  {speedup:,.0f}x faster "
                f"(limits 20 ms and 30x, {verdict})"
            )
    if not quick:
        year = folder / "rollups-year.db"
        build(year, 1_000_000, days=365)
        size = rollup_bytes(year)
        lines.append(
            f"rollups of one year (1,000,000 entries over 365 days, {WORKERS} workers, 8 task "
            f"types): {'n/a' if size is None else format(size / 1e6, '.1f') + ' MB'} on disk"
        )
    return lines


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick=False):
        print(line)
