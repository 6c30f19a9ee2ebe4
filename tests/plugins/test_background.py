"""Background write mode: the host's call only queues; a writer thread commits in groups."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from orchestrator_feedback import (
    BackgroundConfig,
    FeedbackChange,
    FeedbackCollector,
    FeedbackConfig,
    FeedbackEntry,
    FeedbackError,
    FeedbackPluginManager,
    FeedbackStorage,
    FeedbackValidationError,
    get_plugin_manager,
    hookimpl,
    load_config,
)
from orchestrator_feedback.storage import background as background_writes
from orchestrator_feedback.storage.writer import BackgroundWriter

MakeEntry = Callable[..., FeedbackEntry]


@pytest.fixture
def background(tmp_path: Path) -> Iterator[FeedbackPluginManager]:
    config = FeedbackConfig(database=str(tmp_path / "bg.db"), write_mode="background")
    manager = get_plugin_manager(config, load_entrypoints=False)
    yield manager
    manager.close()


def review(manager: FeedbackPluginManager, task: str, rating: int = 4) -> None:
    manager.hook.task_reviewed(
        task_id=task, reviewer_id="r", rating=rating, comment=None, metadata={}
    )


def storage_of(manager: FeedbackPluginManager) -> FeedbackStorage:
    plugin = manager.feedback_plugin
    assert plugin is not None
    return plugin.storage


def test_flush_commits_everything_handed_over(background: FeedbackPluginManager) -> None:
    for n in range(250):
        review(background, f"t{n}")
    assert background.flush(timeout=10) is True
    assert storage_of(background).count() == 250
    assert background.counters.recorded == 250
    assert background.counters.queue_depth == 0


def test_subscribers_run_on_the_writer_thread_in_commit_order(
    background: FeedbackPluginManager,
) -> None:
    heard: list[tuple[str, str]] = []

    class Subscriber:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            heard.append((entry.task_id, threading.current_thread().name))

    background.register(Subscriber())
    for n in range(30):
        review(background, f"t{n:02d}")
    background.flush()
    assert [task for task, _thread in heard] == [f"t{n:02d}" for n in range(30)]
    assert {thread for _task, thread in heard} == {"orchestrator-feedback-writer"}


def test_a_broken_subscriber_on_the_writer_thread_costs_nothing_else(
    background: FeedbackPluginManager,
) -> None:
    class Broken:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            raise RuntimeError("subscriber bug")

    background.register(Broken(), name="broken")
    for n in range(5):
        review(background, f"first-{n}")
    assert background.flush(timeout=30) is True
    for n in range(3):
        review(background, f"then-{n}")
    assert background.flush(timeout=30) is True  # the writer lives on
    assert background.counters.subscriber_failures == 8
    stored = storage_of(background).execute_query("SELECT task_id FROM feedback")
    expected = [f"first-{n}" for n in range(5)] + [f"then-{n}" for n in range(3)]
    assert sorted(row[0] for row in stored) == sorted(expected)  # each once


def test_a_slow_subscriber_never_delays_the_host(background: FeedbackPluginManager) -> None:
    class Slow:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            time.sleep(0.1)

    background.register(Slow())
    started = time.perf_counter()
    for n in range(20):
        review(background, f"t{n}")
    host_time = time.perf_counter() - started
    assert host_time < 0.5  # twenty subscriber calls take two seconds
    background.flush(timeout=30)
    assert storage_of(background).count() == 20


def test_a_full_queue_drops_when_told_to(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    config = FeedbackConfig(
        database=str(tmp_path / "drop.db"),
        write_mode="background",
        background=BackgroundConfig(queue_size=2, batch_size=1, on_full="drop"),
    )
    manager = get_plugin_manager(config, load_entrypoints=False)

    class Stuck:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            release.wait(10)

    manager.register(Stuck())
    for n in range(10):
        review(manager, f"t{n}")
    dropped = manager.counters.dropped
    assert dropped >= 5
    # One warning for the first drop, not one per drop: a flood of log lines would cost
    # the host more than the hook calls the drop mode protects.
    warnings = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1
    assert "1 entry dropped since the last warning" in warnings[0]
    release.set()
    manager.close()
    # close() reports the drops the rate limit held back, so every drop is accounted for.
    warnings = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 2
    assert f"{dropped - 1} entries dropped since the last warning (at close)" in warnings[1]
    assert f"{dropped} in all" in warnings[1]
    assert storage_of(manager).dropped_count == manager.counters.dropped == dropped
    with FeedbackStorage(tmp_path / "drop.db") as storage:
        assert storage.count() == 10 - dropped


def test_a_full_queue_makes_the_caller_wait_by_default(tmp_path: Path) -> None:
    release = threading.Event()
    storage = FeedbackStorage(tmp_path / "block.db", queue_size=1, batch_size=1)
    storage.add_listener(lambda change, entry: release.wait(10))
    done = threading.Event()

    def produce() -> None:
        for n in range(5):
            storage.submit(FeedbackEntry(task_id=f"t{n}", feedback_type="general", content="c"))
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert not done.wait(0.3)  # held back by the full queue
    release.set()
    assert done.wait(10)
    producer.join()
    assert storage.flush(timeout=10)
    assert storage.count() == 5
    storage.close()


def test_flush_times_out_rather_than_hanging(tmp_path: Path) -> None:
    release = threading.Event()
    storage = FeedbackStorage(tmp_path / "slow.db", batch_size=1)
    storage.add_listener(lambda change, entry: release.wait(10))
    storage.submit(FeedbackEntry(task_id="a", feedback_type="general", content="c"))
    storage.submit(FeedbackEntry(task_id="b", feedback_type="general", content="c"))
    assert storage.flush(timeout=0.2) is False
    release.set()
    assert storage.flush(timeout=10) is True
    storage.close()


def test_close_says_why_it_waits_for_a_stuck_subscriber(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(background_writes, "CLOSE_WAIT_WARNING_INTERVAL", 0.05)
    release = threading.Event()
    storage = FeedbackStorage(tmp_path / "stuck.db", batch_size=1)
    storage.add_listener(lambda change, entry: release.wait(10))
    for task in ("a", "b", "c"):
        storage.submit(FeedbackEntry(task_id=task, feedback_type="general", content="c"))
    threading.Timer(0.3, release.set).start()
    storage.close()  # waits for the subscriber: nothing handed over is given up
    waits = [r.getMessage() for r in caplog.records if "still waiting" in r.getMessage()]
    assert waits, "close() waited in silence"
    assert "feedback_recorded subscriber" in waits[0]
    with FeedbackStorage(tmp_path / "stuck.db") as reopened:
        assert reopened.count() == 3


def test_one_bad_entry_costs_only_itself(tmp_path: Path, make_entry: MakeEntry) -> None:
    storage = FeedbackStorage(tmp_path / "dup.db", batch_window=0.2)
    existing = storage.create(make_entry())
    fresh = [make_entry() for _ in range(5)]
    for entry in [*fresh[:2], make_entry(id=existing.id), *fresh[2:]]:
        storage.submit(entry)
    with pytest.raises(FeedbackError, match="1 background entry could not be stored"):
        storage.flush()
    assert {e.id for e in storage.get_all()} == {existing.id, *(e.id for e in fresh)}
    storage.close()


def test_close_flushes(tmp_path: Path, make_entry: MakeEntry) -> None:
    storage = FeedbackStorage(tmp_path / "close.db", batch_window=5)
    for _ in range(10):
        storage.submit(make_entry())
    storage.close()
    with FeedbackStorage(tmp_path / "close.db") as reopened:
        assert reopened.count() == 10


def test_interpreter_exit_flushes(tmp_path: Path) -> None:
    path = tmp_path / "exit.db"
    code = (
        "from orchestrator_feedback import FeedbackConfig, get_plugin_manager\n"
        f"config = FeedbackConfig(database={str(path)!r}, write_mode='background')\n"
        "manager = get_plugin_manager(config, load_entrypoints=False)\n"
        "for n in range(500):\n"
        "    manager.hook.task_reviewed(task_id=f't{n}', reviewer_id='r', rating=3, comment=None,"
        " metadata={})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with FeedbackStorage(path) as storage:
        assert storage.count() == 500


def test_the_collector_returns_once_committed(background: FeedbackPluginManager) -> None:
    collector = FeedbackCollector(plugin_manager=background)
    entry = asyncio.run(collector.collect_task_completion_feedback(task_id="t", worker_id="w"))
    assert entry is not None and storage_of(background).get(entry.id) == entry


def test_listeners_of_the_store_hear_background_commits(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    heard: list[FeedbackChange] = []
    storage = FeedbackStorage(
        tmp_path / "l.db", listeners=[lambda change, entry: heard.append(change)]
    )
    storage.submit(make_entry())
    storage.flush()
    assert heard == [FeedbackChange.RECORDED]
    storage.close()


def test_write_mode_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('write_mode = "background"\n[background]\nqueue_size = 50\non_full = "drop"\n')
    config = load_config(path)
    assert config.write_mode == "background" and config.background.queue_size == 50
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_WRITE_MODE", "sync")
    assert load_config(path).write_mode == "sync"
    path.write_text('write_mode = "eventually"')
    monkeypatch.delenv("ORCHESTRATOR_FEEDBACK_WRITE_MODE")
    with pytest.raises(FeedbackValidationError, match="write_mode"):
        load_config(path)
    path.write_text('[background]\non_full = "panic"')
    with pytest.raises(FeedbackValidationError, match="on_full"):
        load_config(path)


def test_a_stop_that_lands_just_before_the_writer_sleeps_still_ends_it() -> None:
    # The writer found its queue empty and is about to clear its wake-up flag and sleep;
    # stop() runs at that moment (its set() lands just before the clear). It must not
    # sleep for ever.
    writer_box: list[BackgroundWriter] = []

    class StopArrivesFirst(threading.Event):
        def clear(self) -> None:
            writer = writer_box[0]
            if not writer._stopping:
                writer._stopping = True  # what stop() does first ...
                super().set()  # ... then its wake-up, which this clear() undoes
            super().clear()

    writer = BackgroundWriter(
        lambda entries: None,
        lambda entry: None,
        queue_size=10,
        batch_size=10,
        batch_window=0.0,
        on_full="block",
    )
    writer_box.append(writer)
    sleeping_on, writer._arrived = writer._arrived, StopArrivesFirst()
    writer._arrived.set()
    sleeping_on.set()  # wake it: it finds nothing to write and heads for sleep
    writer._thread.join(timeout=10)
    assert not writer._thread.is_alive(), "the writer slept through a stop"


def test_a_host_waiting_on_a_full_queue_refills_it_while_the_writer_commits(
    make_entry: MakeEntry,
) -> None:
    # A host waiting for room must be let go when the writer takes the group out of the
    # queue, not when its commit ends: otherwise host and writer take turns instead of
    # working at the same time.
    groups: list[list[str]] = []
    commit_may_end = threading.Event()

    def slow_commit(entries: Sequence[FeedbackEntry]) -> None:
        groups.append([entry.content for entry in entries])
        commit_may_end.wait(10)

    writer = BackgroundWriter(
        slow_commit,
        lambda entry: None,
        queue_size=2,
        batch_size=2,
        batch_window=60.0,  # the writer waits for a full group, or to be hurried
        on_full="block",
    )
    try:
        for name in "ab":
            writer.submit(make_entry(content=name))  # the queue is full
        # The host waits for room, and hurries the writer, which takes a and b.
        host = threading.Thread(target=writer.submit, args=(make_entry(content="c"),))
        host.start()
        # (a waiting host also looks again every second: so well under that)
        host.join(timeout=0.5)
        assert not host.is_alive(), "the host still waits while a and b are committed"
        assert groups == [["a", "b"]] and writer.depth == 1
    finally:
        commit_may_end.set()
        writer.stop(timeout=10)
