"""A plugin that raises SystemExit, KeyboardInterrupt or CancelledError, or that records and
flushes from the writer's own thread, never kills the writer nor hangs the host. The
background cases run in a child process with a time limit, since the failure they guard
against is a process that never exits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackPluginManager,
    get_plugin_manager,
    hookimpl,
)


@pytest.fixture
def sync_manager(tmp_path: Path) -> Iterator[FeedbackPluginManager]:
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "sync.db")), load_entrypoints=False
    )
    yield manager
    manager.close()


def _review(manager: FeedbackPluginManager, task: str) -> None:
    manager.hook.task_reviewed(task_id=task, reviewer_id="r", rating=4, comment=None, metadata={})


@pytest.mark.parametrize("raised", [SystemExit(3), asyncio.CancelledError()])
def test_a_subscriber_raising_a_base_exception_is_counted_not_raised_sync(
    sync_manager: FeedbackPluginManager, raised: BaseException
) -> None:
    class Rude:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            raise raised

    sync_manager.register(Rude())
    _review(sync_manager, "t1")
    _review(sync_manager, "t2")
    plugin = sync_manager.feedback_plugin
    assert plugin is not None
    assert plugin.storage.count() == 2
    assert sync_manager.counters.subscriber_failures == 2


def test_ctrl_c_in_a_subscriber_on_the_main_thread_still_reaches_the_host(
    sync_manager: FeedbackPluginManager,
) -> None:
    class Interrupted:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            raise KeyboardInterrupt

    sync_manager.register(Interrupted())
    with pytest.raises(KeyboardInterrupt):
        _review(sync_manager, "t1")
    plugin = sync_manager.feedback_plugin
    assert plugin is not None
    assert plugin.storage.count() == 1  # committed before the subscriber ran


def _run_child(tmp_path: Path, body: str, timeout: float = 60) -> str:
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from orchestrator_feedback import FeedbackConfig, BackgroundConfig
            from orchestrator_feedback import get_plugin_manager, hookimpl

            def manager(path, queue_size=10_000):
                return get_plugin_manager(
                    FeedbackConfig(
                        database=path,
                        write_mode="background",
                        background=BackgroundConfig(queue_size=queue_size, batch_size=7),
                    ),
                    load_entrypoints=False,
                )

            def review(pm, task, reviewer="host"):
                pm.hook.task_reviewed(
                    task_id=task, reviewer_id=reviewer, rating=4, comment=None, metadata={}
                )
            """
        )
        + textwrap.dedent(body)
    )
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "bg.db")],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the host process hung for {timeout} s")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "raised", ["SystemExit(2)", "KeyboardInterrupt()", "asyncio.CancelledError()"]
)
def test_a_base_exception_on_the_writer_thread_neither_kills_it_nor_hangs_exit(
    tmp_path: Path, raised: str
) -> None:
    out = _run_child(
        tmp_path,
        f"""
        class Rude:
            @hookimpl
            def feedback_recorded(self, entry):
                raise {raised}

        pm = manager(sys.argv[1])
        pm.register(Rude())
        for n in range(100):
            review(pm, f"t{{n}}")
        print("flushed", pm.flush(timeout=30))
        print("stored", pm.feedback_plugin.storage.count())
        print("failures", pm.counters.subscriber_failures)
        for n in range(100, 150):
            review(pm, f"t{{n}}")
        # no close(): the interpreter's exit must commit these and end
        """,
    )
    assert "flushed True" in out
    assert "stored 100" in out
    assert "failures 100" in out
    import sqlite3

    with sqlite3.connect(tmp_path / "bg.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 150


def test_a_subscriber_recording_derived_entries_past_a_full_queue_does_not_deadlock(
    tmp_path: Path,
) -> None:
    out = _run_child(
        tmp_path,
        """
        import threading
        pm = manager(sys.argv[1], queue_size=5)

        class Deriving:
            @hookimpl
            def feedback_recorded(self, entry):
                if entry.user_id == "host":
                    review(pm, entry.task_id + "-derived", reviewer="derived")

        pm.register(Deriving())
        threads = [
            threading.Thread(target=lambda k=k: [review(pm, f"t{k}-{n}") for n in range(100)])
            for k in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("flushed", pm.flush(timeout=30))
        pm.flush(timeout=30)  # the derived entries of the last group
        print("stored", pm.feedback_plugin.storage.count())
        pm.close()
        """,
    )
    assert "flushed True" in out
    assert "stored 600" in out


def test_a_subscriber_calling_flush_is_told_not_yet_instead_of_waiting_on_itself(
    tmp_path: Path,
) -> None:
    out = _run_child(
        tmp_path,
        """
        answers = []
        pm = manager(sys.argv[1], queue_size=5)

        class Flushing:
            @hookimpl
            def feedback_recorded(self, entry):
                if entry.user_id == "host":
                    review(pm, entry.task_id + "-derived", reviewer="derived")
                    answers.append(pm.flush())

        pm.register(Flushing())
        for n in range(50):
            review(pm, f"t{n}")
        pm.flush(timeout=30)
        pm.flush(timeout=30)
        print("stored", pm.feedback_plugin.storage.count())
        print("answers", sorted(set(answers)))
        pm.close()
        """,
    )
    assert "stored 100" in out
    assert "answers [False]" in out
