"""Kill a process mid-write, again and again: the database stays sound and keeps every
entry the host was told about, once.

sync: every entry whose hook call returned is stored.
background: every entry acknowledged by flush() is stored.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackConfig, FeedbackStorage, get_plugin_manager

KILLS_PER_MODE = 20
FORK = multiprocessing.get_context("fork")


def _fire_until_killed(path: str, mode: str, run: int, acknowledged: Connection) -> None:
    from orchestrator_feedback.storage.backends import sqlite_rollups

    sqlite_rollups.FOLD_AT = 40  # fold the rollups often, so that kills land in folds too
    manager = get_plugin_manager(
        FeedbackConfig(database=path, write_mode=mode), load_entrypoints=False
    )
    storage = manager.feedback_plugin.storage  # type: ignore[union-attr]
    acknowledged.send("ready")
    pending: list[str] = []
    for number in range(1_000_000):
        if number % 50 == 0:
            storage.get_summary()  # a reader folding the tail
        task_id = f"run{run}-event{number}"
        manager.hook.task_completed(
            task_id=task_id,
            worker_id="w",
            success=True,
            execution_time=0.01,
            output_quality="high",
            metadata={"run": run},
        )
        if mode == "sync":
            acknowledged.send(task_id)
            continue
        pending.append(task_id)
        if len(pending) == 25:
            manager.flush()
            for done in pending:
                acknowledged.send(done)
            pending.clear()


@pytest.mark.parametrize("mode", ["sync", "background"])
def test_killed_writers_lose_nothing_acknowledged(tmp_path: Path, mode: str) -> None:
    path = str(tmp_path / f"crash-{mode}.db")
    rng = random.Random(2026)
    acknowledged: list[str] = []
    for run in range(KILLS_PER_MODE):
        receiver, sender = FORK.Pipe(duplex=False)
        child = FORK.Process(target=_fire_until_killed, args=(path, mode, run, sender))
        child.start()
        sender.close()
        assert receiver.recv() == "ready"
        time.sleep(rng.uniform(0.02, 0.25))
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join()
        assert child.exitcode == -signal.SIGKILL
        while receiver.poll():
            try:
                acknowledged.append(receiver.recv())
            except EOFError:
                break
        # After every kill: the file is sound, and holds each acknowledged event once; the
        # rollups agree with the entries.
        with FeedbackStorage(path) as storage:
            assert storage.execute_query("PRAGMA integrity_check")[0][0] == "ok", f"kill {run}"
            stored = [row[0] for row in storage.execute_query("SELECT task_id FROM feedback")]
            assert storage.verify_rollups() == [], f"kill {run}"
            assert storage.get_summary().total_count == len(stored)
            [worker] = storage.worker_stats()
            assert worker.count == len(stored)
        assert len(stored) == len(set(stored)), f"an event was stored twice (kill {run})"
        missing = set(acknowledged) - set(stored)
        assert not missing, f"{len(missing)} acknowledged entries were lost (kill {run})"
    assert len(acknowledged) > KILLS_PER_MODE  # the children got real work done


def _fire_many(path: str, process: int) -> None:
    # A lock error retried one by one would still store everything: fail on any warning.
    warnings = _Remember(logging.WARNING)
    logging.getLogger("orchestrator_feedback").addHandler(warnings)
    from orchestrator_feedback.storage.backends import sqlite_rollups

    sqlite_rollups.FOLD_AT = 200  # each process folds the others' rows while they write
    manager = get_plugin_manager(
        FeedbackConfig(database=path, write_mode="background"), load_entrypoints=False
    )
    storage = manager.feedback_plugin.storage  # type: ignore[union-attr]
    for number in range(10_000):
        if number % 1_000 == 999:
            storage.get_summary()
        manager.hook.task_reviewed(
            task_id=f"p{process}-{number}",
            reviewer_id="r",
            rating=number % 5 + 1,
            comment=None,
            metadata={},
        )
    manager.close()
    if warnings.records:
        raise SystemExit(f"process {process} logged: {warnings.records[0].getMessage()}")


class _Remember(logging.Handler):
    """Keeps the records it is given."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_four_background_processes_store_all_forty_thousand(tmp_path: Path) -> None:
    path = str(tmp_path / "four.db")  # not created beforehand: they race to create it too
    processes = [FORK.Process(target=_fire_many, args=(path, p)) for p in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    with FeedbackStorage(path) as storage:
        assert storage.count() == 40_000
        assert storage.count(user_id="r") == 40_000
        distinct = storage.execute_query("SELECT COUNT(DISTINCT task_id) FROM feedback")[0][0]
        assert distinct == 40_000
        summary = storage.get_summary()  # folds the 40,000 into the rollups
        assert summary.total_count == 40_000
        assert summary.rating_distribution == {rating: 8_000 for rating in range(1, 6)}
        assert storage.verify_rollups() == []
