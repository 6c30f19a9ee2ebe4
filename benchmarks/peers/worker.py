"""One system under test, in a process of its own, driven over stdin/stdout by
``benchmarks/peers/__main__.py``. Runs under our virtual environment (``ours``, ``raw``) or
the peers' (``mlflow``, ``dagster``); uses nothing of ours outside ``ours``.

    python worker.py serve SYSTEM FOLDER SIZE   # then lines "write N" / "read N" / "quit"
    python worker.py first SYSTEM FOLDER        # seconds to open a new store and write once
    python worker.py size DISTRIBUTION          # bytes installed, with its requirements

Each ``write N`` commits N items one at a time and answers the N per-call times (seconds)
as a JSON list; each ``read N`` reads the 10 items of N tasks (runs, traces), one call each.
The store holds SIZE items, 10 per task, made before the first command, outside any timing.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

PER_TASK = 10
WRITE_TARGETS = 2_000  # traces / runs / tasks the timed writes go to, made at the start


class System:
    """What every system offers the driver."""

    def write_one(self, n: int) -> None:
        raise NotImplementedError

    def read_one(self, n: int) -> int:
        raise NotImplementedError


# -- ours -----------------------------------------------------------------------------------


class Ours(System):
    """``FeedbackStorage`` on a SQLite file, the defaults (WAL, synchronous NORMAL)."""

    def __init__(self, folder: Path, size: int) -> None:
        from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

        self.entry = lambda task: FeedbackEntry(
            task_id=task,
            feedback_type=FeedbackType.TASK_COMPLETION,
            content="done",
            rating=4,
            metadata={"worker_id": "w1", "execution_time": 1.5},
        )
        self.storage = FeedbackStorage(folder / "ours.db")
        self.tasks = size // PER_TASK
        for start in range(0, size, 10_000):
            self.storage.create_many(
                self.entry(f"task-{n // PER_TASK}") for n in range(start, min(size, start + 10_000))
            )

    def write_one(self, n: int) -> None:
        self.storage.create(self.entry(f"written-{n % WRITE_TARGETS}"))

    def read_one(self, n: int) -> int:
        return len(self.storage.get_by_task(f"task-{n % self.tasks}"))


# -- raw sqlite3 ----------------------------------------------------------------------------


class Raw(System):
    """stdlib sqlite3, the same columns, an index on task_id; WAL and synchronous NORMAL
    (ours) unless told otherwise (a peer's durability)."""

    journal = "WAL"
    synchronous = "NORMAL"

    def __init__(self, folder: Path, size: int) -> None:
        self.db = sqlite3.connect(folder / f"raw-{self.journal}-{self.synchronous}.db")
        self.db.isolation_level = None
        self.db.execute(f"PRAGMA journal_mode={self.journal}")
        self.db.execute(f"PRAGMA synchronous={self.synchronous}")
        self.db.execute(
            "CREATE TABLE feedback (id TEXT PRIMARY KEY, task_id TEXT NOT NULL, "
            "feedback_type TEXT NOT NULL, content TEXT NOT NULL, rating INTEGER, user_id TEXT, "
            "metadata TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        self.db.execute("CREATE INDEX idx_task ON feedback(task_id)")
        self.tasks = size // PER_TASK
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._row(f"task-{n // PER_TASK}") for n in range(size)),
        )
        self.db.execute("COMMIT")

    @staticmethod
    def _row(task: str) -> tuple[object, ...]:
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        meta = '{"worker_id":"w1","execution_time":1.5}'
        return (str(uuid.uuid4()), task, "task_completion", "done", 4, None, meta, now, now)

    def write_one(self, n: int) -> None:
        self.db.execute("BEGIN")
        self.db.execute(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._row(f"written-{n % WRITE_TARGETS}"),
        )
        self.db.execute("COMMIT")

    def read_one(self, n: int) -> int:
        return len(
            self.db.execute(
                "SELECT * FROM feedback WHERE task_id = ? ORDER BY created_at, id",
                (f"task-{n % self.tasks}",),
            ).fetchall()
        )


class RawWalFull(Raw):
    """Dagster's durability: WAL, synchronous FULL (a sync of the WAL at every commit)."""

    synchronous = "FULL"


class RawDeleteFull(Raw):
    """MLflow's durability: SQLite's defaults, a rollback journal and synchronous FULL."""

    journal = "DELETE"
    synchronous = "FULL"


# -- MLflow ---------------------------------------------------------------------------------


def _clone_rows(db: sqlite3.Connection, column: str, template: str, new_ids: list[str]) -> None:
    """Copy every row that names ``template`` in ``column`` (any table), once per new id,
    with a fresh key where a table's primary key is one column of its own (a new text id, or
    NULL for SQLite to number)."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        # table_xinfo: generated columns are listed, marked hidden, and are not inserted
        info = [row for row in db.execute(f"PRAGMA table_xinfo({table})") if row[6] == 0]
        columns = [row[1] for row in info]
        if column not in columns:
            continue
        keys = [row[1] for row in info if row[5]]
        names = ", ".join(columns)
        rows = db.execute(f"SELECT {names} FROM {table} WHERE {column} = ?", (template,)).fetchall()
        marks = ", ".join("?" for _ in columns)
        for new_id in new_ids:
            for row in rows:
                values = list(row)
                values[columns.index(column)] = new_id
                if len(keys) == 1 and keys[0] != column:
                    at = columns.index(keys[0])
                    values[at] = uuid.uuid4().hex if isinstance(values[at], str) else None
                db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)


class MLflow(System):
    """MLflow 3 assessments (``mlflow.log_feedback``) in a SQLite tracking store, traces
    logged synchronously (``MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false``)."""

    def __init__(self, folder: Path, size: int) -> None:
        os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
        import mlflow
        from mlflow.entities import AssessmentSource
        from mlflow.tracking import MlflowClient

        self.mlflow = mlflow
        self.source = AssessmentSource(source_type="HUMAN", source_id="w1")
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("feedback-bench")
        self.client = MlflowClient()
        # The traces read: one logged through the API with its 10 assessments, then cloned
        # in SQL (logging 100,000 assessments one by one would take minutes).
        template = self._trace("template")
        for _ in range(PER_TASK):
            self._log(template)
        traces = size // PER_TASK
        self.read_ids = [template] + [f"tr-{uuid.uuid4().hex}" for _ in range(traces - 1)]
        db = sqlite3.connect(folder / "mlflow.db", isolation_level=None)
        db.execute("BEGIN")
        for column in ("request_id", "trace_id"):  # trace_info and tags; assessments, spans
            _clone_rows(db, column, template, self.read_ids[1:])
        db.execute("COMMIT")
        db.close()
        self.write_ids = [self._trace(f"target-{n}") for n in range(WRITE_TARGETS)]

    def _trace(self, name: str) -> str:
        with self.mlflow.start_span(name=name) as span:
            pass
        return str(span.trace_id)

    def _log(self, trace_id: str) -> None:
        self.mlflow.log_feedback(
            trace_id=trace_id, name="rating", value=4, source=self.source, rationale="done"
        )

    def write_one(self, n: int) -> None:
        self._log(self.write_ids[n % WRITE_TARGETS])

    def read_one(self, n: int) -> int:
        trace = self.client.get_trace(self.read_ids[n % len(self.read_ids)], display=False)
        return len(trace.info.assessments)


# -- Dagster --------------------------------------------------------------------------------


class Dagster(System):
    """Dagster's event log (``store_event``) in ``ConsolidatedSqliteEventLogStorage``: one
    SQLite file (the default local storage keeps a file per run)."""

    def __init__(self, folder: Path, size: int) -> None:
        from dagster._core.events.log import EventLogEntry
        from dagster._core.storage.event_log.sqlite import ConsolidatedSqliteEventLogStorage

        self.entry_type = EventLogEntry
        self.storage = ConsolidatedSqliteEventLogStorage(str(folder / "dagster"))
        runs = size // PER_TASK
        self.read_runs = [f"run-{n}" for n in range(runs)]
        for _ in range(PER_TASK):
            self.storage.store_event(self._event(self.read_runs[0]))
        # Cloned in SQL, as for MLflow: outside the timing, and minutes faster.
        path = next((folder / "dagster").glob("*.db"))
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("BEGIN")
        _clone_rows(db, "run_id", self.read_runs[0], self.read_runs[1:])
        db.execute("COMMIT")
        db.close()

    def _event(self, run_id: str) -> Any:
        return self.entry_type(
            error_info=None,
            level="INFO",
            user_message="task completed: rating 4",
            run_id=run_id,
            timestamp=time.time(),
            step_key="task",
            job_name="job",
            dagster_event=None,
        )

    def write_one(self, n: int) -> None:
        self.storage.store_event(self._event(f"target-{n % WRITE_TARGETS}"))

    def read_one(self, n: int) -> int:
        run = self.read_runs[n % len(self.read_runs)]
        return len(self.storage.get_records_for_run(run, limit=PER_TASK).records)


SYSTEMS: dict[str, Callable[[Path, int], System]] = {
    "ours": Ours,
    "raw": Raw,
    "raw-wal-full": RawWalFull,
    "raw-delete-full": RawDeleteFull,
    "mlflow": MLflow,
    "dagster": Dagster,
}


def serve(name: str, folder: Path, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    system = SYSTEMS[name](folder, size)
    rng = random.Random(7)
    print("ready", flush=True)
    counter = 0
    for line in sys.stdin:
        command, _, count = line.strip().partition(" ")
        if command == "quit":
            return
        times = []
        for _ in range(int(count)):
            counter += 1
            began = time.perf_counter()
            if command == "write":
                system.write_one(counter)
            else:
                found = system.read_one(rng.randrange(1 << 30))
                if found != PER_TASK:
                    raise SystemExit(f"{name}: read {found} items, not {PER_TASK}")
            times.append(time.perf_counter() - began)
        print(json.dumps(times), flush=True)


def first_use(name: str, folder: Path) -> float:
    """Seconds from nothing to one item committed in a new store (imports done before)."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "ours":
        import orchestrator_feedback  # noqa: F401
    elif name == "mlflow":
        os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
        import mlflow
    elif name == "dagster":
        import dagster  # noqa: F401
    began = time.perf_counter()
    system: System
    if name == "ours":
        system = Ours(folder, 0)
    elif name == "mlflow":
        import mlflow
        from mlflow.entities import AssessmentSource

        mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
        with mlflow.start_span(name="first") as span:
            pass
        mlflow.log_feedback(
            trace_id=span.trace_id,
            name="rating",
            value=4,
            source=AssessmentSource(source_type="HUMAN", source_id="w1"),
        )
        return time.perf_counter() - began
    elif name == "dagster":
        from dagster._core.events.log import EventLogEntry
        from dagster._core.storage.event_log.sqlite import ConsolidatedSqliteEventLogStorage

        storage = ConsolidatedSqliteEventLogStorage(str(folder / "dagster"))
        storage.store_event(
            EventLogEntry(
                error_info=None,
                level="INFO",
                user_message="first",
                run_id="run-first",
                timestamp=time.time(),
                step_key="task",
                job_name="job",
                dagster_event=None,
            )
        )
        return time.perf_counter() - began
    else:
        raise SystemExit(f"no first use for {name}")
    system.write_one(0)
    return time.perf_counter() - began


def installed_size(distribution: str) -> int:
    """Bytes of ``distribution`` and every distribution it requires (not extras), as their
    RECORD files list them."""
    import re
    from importlib import metadata

    seen: set[str] = set()
    total = 0
    pending = [distribution]
    while pending:
        name = re.sub(r"[-_.]+", "-", pending.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            try:
                total += file.locate().stat().st_size
            except OSError:
                continue
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
            if match:
                pending.append(match.group(0))
    return total


def main() -> None:
    if hasattr(os, "sched_setaffinity") and os.environ.get("PEERS_CPU"):
        os.sched_setaffinity(0, {int(os.environ["PEERS_CPU"])})
    command = sys.argv[1]
    if command == "serve":
        serve(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
    elif command == "first":
        print(json.dumps(first_use(sys.argv[2], Path(sys.argv[3]))))
    elif command == "size":
        print(json.dumps(installed_size(sys.argv[2])))


if __name__ == "__main__":
    main()
