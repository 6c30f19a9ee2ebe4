"""``make bench-scale``: the answers of a store a user would have, at 100,000, 1,000,000 and
10,000,000 entries (200 workers, 20 task types, a year of timestamps, every entry type),
first call in a fresh process and warm, and the command line's read commands wall clock.

``python -m benchmarks.scale [--sizes 100000,1000000] [--dir DIR]``. The stores are built
once by raw inserts (then rolled up by the store) and kept in ``DIR`` (default
``BENCH_SCALE_DIR`` or ``.bench-scale``), so a second run reuses them: 10,000,000 entries
take about 15 minutes to build here. Each figure is the median of ``ROUNDS`` fresh
processes; the spread (min-max) follows it.
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orchestrator_feedback
from orchestrator_feedback import FeedbackStorage, FeedbackType
from orchestrator_feedback.storage.backends.base import COLUMNS
from orchestrator_feedback.storage.backends.sqlite_schema import apply_migrations

WORKERS = 200
TASK_TYPES = 20
DAYS = 365
ROUNDS = 5
CANDIDATES = [f"w{n}" for n in range(0, WORKERS, WORKERS // 20)]

# The mix of entry types an orchestrator's store holds (out of 20 entries).
_MIX = (
    [FeedbackType.TASK_COMPLETION] * 10
    + [FeedbackType.ERROR_REPORT] * 2
    + [FeedbackType.WORKER_PERFORMANCE] * 4
    + [FeedbackType.TASK_QUALITY] * 2
    + [FeedbackType.DECOMPOSITION_EFFECTIVENESS, FeedbackType.ALLOCATION_FEEDBACK]
)


_ERROR_TYPES = ["TimeoutError", "MemoryError", "ConnectionError", "KeyError", "ValueError"]


def _rows(total: int) -> Iterator[tuple[object, ...]]:
    start = datetime.now(UTC) - timedelta(days=DAYS)
    step = DAYS * 86_400 / total
    for number in range(total):
        moment = (start + timedelta(seconds=number * step)).strftime("%Y-%m-%d %H:%M:%S.%f")
        kind = _MIX[number % len(_MIX)]
        draw = random.Random(number)
        worker = draw.randrange(WORKERS)
        metadata: dict[str, object] = {"task_type": f"type-{draw.randrange(TASK_TYPES)}"}
        if not (kind is FeedbackType.ERROR_REPORT and draw.random() < 0.15):  # before allocation
            metadata["worker_id"] = f"w{worker}"
        if kind is FeedbackType.TASK_COMPLETION:
            # Each worker has a failure rate of its own, from 2% to 22%.
            metadata["success"] = draw.random() >= 0.02 + 0.2 * worker / WORKERS
            metadata["execution_time"] = round(draw.gammavariate(2, 1.5), 3)
        if kind is FeedbackType.ERROR_REPORT:
            metadata["error_type"] = draw.choice(_ERROR_TYPES)
        rating = (
            None
            if kind in (FeedbackType.TASK_COMPLETION, FeedbackType.ERROR_REPORT)
            else (draw.randint(1, 5))
        )
        yield (
            str(uuid.uuid4()),
            f"task-{number // 3}",
            kind.value,
            "failed: timeout" if kind is FeedbackType.ERROR_REPORT else "done",
            rating,
            None,
            json.dumps(metadata),
            moment,
            moment,
        )


def build(path: Path, total: int) -> float:
    """The store of ``total`` entries at ``path`` (kept if it holds them); seconds spent."""
    began = time.perf_counter()
    if path.exists():
        with sqlite3.connect(path) as connection:
            if connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == total:
                return 0.0
        path.unlink()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    apply_migrations(connection, 0)
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _rows(total))
    connection.execute("COMMIT")
    connection.close()
    with FeedbackStorage(path) as storage:  # folds the imported rows into the rollups
        storage.get_summary()
        assert storage.verify_rollups() == [], "the rollups disagree with the entries"
    return time.perf_counter() - began


_FIRST_CALLS = """
import sys, time
began = time.perf_counter()
from orchestrator_feedback import FeedbackStorage
store = FeedbackStorage(sys.argv[1])
what = sys.argv[2]
candidates = sys.argv[3].split(",")
def call():
    if what == "worker_scores":
        return store.worker_scores()
    if what == "recommend":
        return store.recommend(candidates)
    if what == "recommend_type":
        return store.recommend(candidates, task_type="type-3")
    if what == "summary_since":
        from datetime import datetime, timedelta, UTC
        return store.get_summary(since=datetime.now(UTC) - timedelta(days=7))
    if what == "outcome_totals":
        return store.outcome_totals()
    if what == "recommend_half_life":
        from datetime import timedelta
        return store.recommend(candidates, half_life=timedelta(days=7))
    if what == "metrics_scrape":
        from prometheus_client import generate_latest
        from orchestrator_feedback.views.metrics import metrics_registry
        return generate_latest(metrics_registry(store))
    raise SystemExit(what)
t0 = time.perf_counter(); call(); first = time.perf_counter() - t0
warm = []
for _ in range(5):
    t0 = time.perf_counter(); call(); warm.append(time.perf_counter() - t0)
warm.sort()
print(first, warm[2])
"""

CALLS = (
    "worker_scores",
    "recommend",
    "recommend_type",
    "recommend_half_life",
    "summary_since",
    "outcome_totals",
    "metrics_scrape",
)
COMMANDS = {
    "stats": ["stats"],
    "stats --since 7d": ["stats", "--since", "7d"],
    "workers": ["workers"],
    "recommend (20)": ["recommend", *CANDIDATES],
    "trends": ["trends"],
    "failures": ["failures"],
    "report --days 30": ["report", "--days", "30", "--output", "{out}"],
    "--help": ["--help"],
}


def build_postgres(server: str, total: int) -> tuple[str, float]:
    """The store of ``total`` entries in the database ``feedback_scale_<total>`` of the
    server ``server`` (a URL without a database; kept if it holds them): written by COPY a
    million rows a statement and transaction, then folded. Its URL and the seconds spent."""
    import psycopg

    began = time.perf_counter()
    name = f"feedback_scale_{total}"
    url = f"{server.rstrip('/')}/{name}"
    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            with psycopg.connect(url) as connection:
                (count,) = connection.execute("SELECT count(*) FROM feedback").fetchone()  # type: ignore[misc]
            if count == total:
                return url, 0.0
            admin.execute(f"DROP DATABASE {name}")
        admin.execute(f"CREATE DATABASE {name}")
    FeedbackStorage(url).close()  # the schema
    rows = _rows(total)
    with psycopg.connect(url) as connection:
        for _ in range(0, total, 1_000_000):
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY feedback ({COLUMNS}) FROM STDIN") as copy,
            ):
                for row in itertools.islice(rows, 1_000_000):
                    copy.write_row((*row[:7], row[7] + "+00", row[8] + "+00"))
            connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    with FeedbackStorage(url) as storage:  # folds the deltas
        storage.get_summary()
        assert storage.verify_rollups() == [], "the rollups disagree with the entries"
    return url, time.perf_counter() - began


_SIZES = """SELECT relname, pg_total_relation_size(oid), pg_indexes_size(oid)
    FROM pg_class WHERE relkind = 'r' AND relname LIKE 'feedback%%' ORDER BY 2 DESC"""


def postgres_sizes(url: str) -> str:
    """Each table of ours with its indexes, and the indexes alone, in MB."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(_SIZES).fetchall()
    return "; ".join(
        f"{name} {whole / 1e6:,.0f} MB (indexes {indexes / 1e6:,.0f})"
        for name, whole, indexes in rows
        if whole > 100_000
    )


def _spread(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:8.1f} ms "
        f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"
    )


_ADVISING = """
import sys, time
from orchestrator_feedback import FeedbackStorage
store = FeedbackStorage(sys.argv[1])
candidates = sys.argv[2].split(",")
store.recommend(candidates)
began, cpu = time.monotonic(), time.process_time()
while time.monotonic() - began < 30:
    store.recommend(candidates)
    time.sleep(1.0)
print((time.process_time() - cpu) / (time.monotonic() - began))
"""


def advising_cpu(path: Path | str) -> str:
    """The share of a core a process uses over 30 s while it asks for advice once a second
    (the score book's re-reads every 5 s included)."""
    out = subprocess.run(
        [sys.executable, "-c", _ADVISING, str(path), ",".join(CANDIDATES)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return (
        f"  an advising process (recommend once a second, 30 s): {float(out) * 100:.1f}% of a core"
    )


_HALF_LIFE = timedelta(days=7)


def decayed_sums_built(path: Path | str) -> str:
    """Ask the store at ``path`` with the half-life of ``recommend_half_life`` and wait for
    its decayed sums (built once in a store's life, by a thread, on that first ask); the
    printable line with the seconds it took (0 when they were built before)."""
    days = _HALF_LIFE / timedelta(days=1)
    check = f"SELECT built_through FROM feedback_rollup_decay WHERE half_life = {days!r}"
    began = time.perf_counter()
    with FeedbackStorage(str(path)) as storage:
        rows = storage.execute_query(check)
        if rows and str(rows[0][0]).startswith("9999"):
            return "  the half-life's decayed sums: built before (kept by the store)"
        storage.worker_scores(half_life=_HALF_LIFE)
        while not str((storage.execute_query(check) or [("",)])[0][0]).startswith("9999"):
            time.sleep(0.1)
    took = time.perf_counter() - began
    return (
        f"  the half-life's decayed sums, built once in the store's life (by a thread; the "
        f"asks meanwhile read the days): {took:.1f} s"
    )


def measure(path: Path | str, rounds: int) -> list[str]:
    """The printable lines for the store at ``path`` (a file, or a PostgreSQL URL): the
    half-life's decayed sums first (``decayed_sums_built``), then every figure."""
    lines = [decayed_sums_built(path)]
    for what in CALLS:
        first, warm = [], []
        for _ in range(rounds):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALLS, str(path), what, ",".join(CANDIDATES)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            first.append(float(out[0]))
            warm.append(float(out[1]))
        lines.append(f"  {what:<18} first {_spread(first)}   warm {_spread(warm)}")
    script = str(Path(sys.executable).with_name("orchestrator-feedback"))
    for name, arguments in COMMANDS.items():
        walls = []
        for _ in range(rounds):
            report = f"/tmp/scale-report-{os.getpid()}.html"
            command = [script, "--database", str(path)] + [a.format(out=report) for a in arguments]
            began = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            walls.append(time.perf_counter() - began)
        lines.append(f"  CLI {name:<18} wall {_spread(walls)}")
    lines.append(advising_cpu(path))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--dir", default=os.environ.get("BENCH_SCALE_DIR", ".bench-scale"))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_SCALE_POSTGRES"),
        help="also on this PostgreSQL server (a URL without a database, such as "
        "postgresql://postgres@127.0.0.1:5432)",
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL's figures only")
    parser.add_argument(
        "--import-size", type=int, default=1_000_000, help="the import beside a writer (0: none)"
    )
    options = parser.parse_args()
    # Every figure is of a fresh process, which reads the package's bytecode as an install
    # by pip leaves it; where PYTHONDONTWRITEBYTECODE is set, none is written (an editable
    # install), and each process would compile the package again (about 110 ms here).
    compileall.compile_dir(str(Path(orchestrator_feedback.__file__).parent), quiet=1)
    folder = Path(options.dir)
    folder.mkdir(parents=True, exist_ok=True)
    for total in (int(size) for size in options.sizes.split(",")):
        if not options.skip_sqlite:
            path = folder / f"scale-{total}.db"
            built = build(path, total)
            size = path.stat().st_size / 1e9
            origin = f"built in {built:.0f} s" if built else "reused"
            print(
                f"SQLite, {total:,} entries ({WORKERS} workers, {TASK_TYPES} task types, {DAYS} "
                f"days; {size:.2f} GB; {origin}); medians of {options.rounds} fresh processes "
                "(min-max)",
                flush=True,
            )
            for line in measure(path, options.rounds):
                print(line, flush=True)
            if total == options.import_size:
                for line in import_then_read(folder, path, total):
                    print(line, flush=True)
        if options.postgres:
            url, built = build_postgres(options.postgres, total)
            origin = f"built in {built:.0f} s" if built else "reused"
            print(f"PostgreSQL, {total:,} entries (the same; {origin})", flush=True)
            for line in measure(url, options.rounds):
                print(line, flush=True)
            print(f"  sizes: {postgres_sizes(url)}", flush=True)


_WRITER = """
import json, sys, time, os
from orchestrator_feedback import FeedbackEntry, FeedbackStorage
path, stop, out = sys.argv[1:4]
waits, failures = [], []
with FeedbackStorage(path) as store:
    while not os.path.exists(stop):
        began, at = time.perf_counter(), time.time()
        try:
            store.create(FeedbackEntry(task_id="beside", feedback_type="task_completion",
                                       content="ok", metadata={"worker_id": "w-live"}))
        except Exception as error:  # counted, not raised: the figure is how many fail
            failures.append(repr(error)[:200])
        waits.append((at, time.perf_counter() - began))
        time.sleep(0.01)
json.dump({"waits": waits, "failures": failures}, open(out, "w"))
"""


def _writer_beside(
    path: Path, work: list[list[str]]
) -> tuple[list[float], list[list[float]], list[str]]:
    """Run each command of ``work`` in turn (each timed) while another process creates an
    entry every 10 ms in ``path``: the commands' seconds, the writer's waits (seconds) that
    began during each command, and the writer's failures."""
    stop, out = path.with_suffix(".stop"), path.with_suffix(".writer.json")
    stop.unlink(missing_ok=True)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(stop), str(out)])
    time.sleep(1.0)
    spans = []
    try:
        for command in work:
            began = time.time()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            spans.append((began, time.time()))
        time.sleep(1.0)
    finally:
        stop.touch()
        writer.wait(timeout=120)
    written = json.loads(out.read_text())
    during = [
        sorted(wait for at, wait in written["waits"] if start <= at < end) for start, end in spans
    ]
    return [end - start for start, end in spans], during, written["failures"]


def _waits(waits: list[float]) -> str:
    if not waits:
        return "0 creates"
    return (
        f"{len(waits)} creates waited at worst {waits[-1] * 1000:.0f} ms (99th percentile "
        f"{waits[int(len(waits) * 0.99)] * 1000:.0f} ms)"
    )


def import_then_read(folder: Path, source: Path, total: int) -> list[str]:
    """Import the entries of ``source`` into a new store (``--batch-size 10000``: the way to
    import beside writers), then at once ``stats``, ``failures``
    and ``workers``, while another process creates an entry every 10 ms throughout; then
    the same beside a ``purge`` of the oldest tenth and a ``forget-user``. The printable
    lines: each command's wall time, the writer's worst and 99th-percentile wait, and its
    failed writes."""
    script = str(Path(sys.executable).with_name("orchestrator-feedback"))
    dump = folder / f"import-{total}.jsonl"
    if not dump.exists():
        with FeedbackStorage(source) as storage:
            storage.export_jsonl(dump)
    target = folder / f"import-{total}.db"
    for stale in folder.glob(f"import-{total}.db*"):
        stale.unlink()
    FeedbackStorage(target).close()
    base = [script, "--database", str(target)]
    lines = []
    phases = {
        "import, then stats, failures, workers": [
            [*base, "import", str(dump), "--batch-size", "10000"],
            [*base, "stats"],
            [*base, "failures"],
            [*base, "workers"],
        ],
        "purge (older than 330 days), forget-user": [
            [*base, "purge", "--older-than", "330d"],
            [*base, "forget-user", "ada"],
        ],
    }
    for phase, work in phases.items():
        if phase.startswith("purge"):
            with FeedbackStorage(target) as storage:  # a user with a thousand entries
                storage.execute_query("UPDATE feedback SET user_id = 'ada' WHERE rowid % 1000 = 0")
        took, during, failed = _writer_beside(target, work)
        names = [c[3] for c in work]
        timed = "; ".join(
            f"{name} {seconds:.1f} s, the writer's {_waits(waits)}"
            for name, seconds, waits in zip(names, took, during, strict=True)
        )
        lines.append(
            f"  beside a writer (an entry every 10 ms): {phase}: {timed}; "
            f"{len(failed)} of its creates failed"
        )
    with FeedbackStorage(target) as storage:
        verdict = storage.verify_rollups() or "agree with the entries"
        lines.append(f"  rollups after both: {verdict}")
    return lines


if __name__ == "__main__":  # pragma: no cover
    main()
