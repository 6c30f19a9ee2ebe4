"""Where a store keeps its alerts (``alerts.py``): the alerts raised, each detector's state,
and how far in commit order detection has read. The tables of both dialects (their
migrations create them) and the statements they share, in the backend's placeholder.

- ``feedback_alerts``: one row per alert raised (``degraded``) or cleared (``recovered``);
  a worker's alert on a measure and task type is open while its newest row is
  ``degraded``. ``task_type`` is NULL for the alert on all of a worker's task types.
- ``feedback_alert_detectors``: one row per worker, task type and measure, its state as
  JSON (``change_detection.Detector``).
- ``feedback_alert_position``: one row, the commit-order position detection has read to.
  Reading it locks it (SQLite: the write transaction; PostgreSQL: ``FOR UPDATE``), so
  that one process at a time reads on: each alert is raised once, whichever process
  raises it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator_feedback.serialization import parse_timestamp
from orchestrator_feedback.storage.backends.values import FollowPosition

__all__ = [
    "ALERT_COLUMNS",
    "POSTGRES_CREATE",
    "SQLITE_CREATE",
    "AlertRow",
    "insert_alert",
    "load_detectors",
    "read_alerts",
    "read_position",
    "save_detectors",
    "write_position",
]

ALERT_COLUMNS = (
    "id, worker, task_type, kind, measure, since, raised_at, before, before_low, before_high,"
    " after, after_low, after_high, outcomes, statistic, threshold"
)
AlertRow = tuple[Any, ...]
"""A row of ``feedback_alerts`` in ``ALERT_COLUMNS`` order."""


def _create(identity: str, real: str, time: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE IF NOT EXISTS feedback_alerts (
            id {identity},
            worker TEXT NOT NULL,
            task_type TEXT,
            kind TEXT NOT NULL,
            measure TEXT NOT NULL,
            since {time} NOT NULL,
            raised_at {time} NOT NULL,
            before {real} NOT NULL,
            before_low {real} NOT NULL,
            before_high {real} NOT NULL,
            after {real} NOT NULL,
            after_low {real} NOT NULL,
            after_high {real} NOT NULL,
            outcomes INTEGER NOT NULL,
            statistic {real} NOT NULL,
            threshold {real} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS idx_alerts_raised_at ON feedback_alerts(raised_at)",
        "CREATE INDEX IF NOT EXISTS idx_alerts_worker "
        "ON feedback_alerts(worker, measure, task_type, id)",
        """CREATE TABLE IF NOT EXISTS feedback_alert_detectors (
            detector TEXT PRIMARY KEY,
            state TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS feedback_alert_position (
            only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
            major BIGINT NOT NULL,
            minor BIGINT NOT NULL
        )""",
    )


SQLITE_CREATE = _create("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "TIMESTAMP")
POSTGRES_CREATE = _create("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION", "TIMESTAMPTZ")


def read_position(backend: Any, connection: Any, *, lock: bool = True) -> FollowPosition | None:
    """The position detection has read to (None before the first detecting store opened),
    locked until the transaction ends unless ``lock`` is False."""
    row = connection.execute(
        f"SELECT major, minor FROM feedback_alert_position{backend.lock_row_sql if lock else ''}"
    ).fetchone()
    return None if row is None else FollowPosition(int(row[0]), int(row[1]))


def write_position(
    backend: Any, connection: Any, position: FollowPosition, *, first: bool = False
) -> None:
    """Record that detection has read to ``position``; with ``first``, only if it has not
    started before (where it starts reading)."""
    mark = backend.placeholder
    on_conflict = (
        "DO NOTHING" if first else "DO UPDATE SET major = excluded.major, minor = excluded.minor"
    )
    connection.execute(
        f"INSERT INTO feedback_alert_position (only_row, major, minor) VALUES (1, {mark}, {mark})"
        f" ON CONFLICT (only_row) {on_conflict}",
        (position.major, position.minor),
    )


def load_detectors(backend: Any, connection: Any, keys: Sequence[str]) -> dict[str, str]:
    """The stored state (JSON) of the detectors named ``keys`` that have one."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join([backend.placeholder] * len(chunk))
        for key, state in connection.execute(
            f"SELECT detector, state FROM feedback_alert_detectors WHERE detector IN ({marks})",
            chunk,
        ).fetchall():
            found[key] = state
    return found


def save_detectors(backend: Any, connection: Any, states: Mapping[str, str]) -> None:
    """Store each detector's state (JSON)."""
    mark = backend.placeholder
    connection.cursor().executemany(
        f"INSERT INTO feedback_alert_detectors (detector, state) VALUES ({mark}, {mark})"
        " ON CONFLICT (detector) DO UPDATE SET state = excluded.state",
        list(states.items()),
    )


def insert_alert(backend: Any, connection: Any, row: Sequence[Any]) -> int:
    """Store one alert (``ALERT_COLUMNS`` without the id) and return its id."""
    marks = ", ".join([backend.placeholder] * len(row))
    columns = ALERT_COLUMNS.split(", ", 1)[1]
    encoded = [
        backend.encode_time(value) if isinstance(value, datetime) else value for value in row
    ]
    found = connection.execute(
        f"INSERT INTO feedback_alerts ({columns}) VALUES ({marks}) RETURNING id", encoded
    ).fetchone()
    return int(found[0])


def read_alerts(
    backend: Any,
    connection: Any,
    *,
    open_only: bool,
    since: datetime | None,
    worker: str | None,
    limit: int | None,
) -> list[AlertRow]:
    """Alerts newest first: only those still open, or every one raised since ``since``;
    of one worker or all; at most ``limit``. Times as datetimes."""
    mark = backend.placeholder
    clauses: list[str] = []
    params: list[Any] = []
    if open_only:
        clauses.append(
            "a.kind = 'degraded' AND NOT EXISTS (SELECT 1 FROM feedback_alerts later"
            " WHERE later.worker = a.worker AND later.measure = a.measure AND (later.task_type"
            " = a.task_type OR (later.task_type IS NULL AND a.task_type IS NULL))"
            " AND later.id > a.id)"
        )
    if since is not None:
        clauses.append(f"a.raised_at >= {mark}")
        params.append(backend.encode_time(since))
    if worker is not None:
        clauses.append(f"a.worker = {mark}")
        params.append(worker)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    bound = "" if limit is None else f" LIMIT {int(limit)}"
    columns = ", ".join(f"a.{name}" for name in ALERT_COLUMNS.split(", "))
    rows = connection.execute(
        f"SELECT {columns} FROM feedback_alerts a{where} ORDER BY a.id DESC{bound}", params
    ).fetchall()
    return [(*row[:5], parse_timestamp(row[5]), parse_timestamp(row[6]), *row[7:]) for row in rows]
