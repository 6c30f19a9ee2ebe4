"""The Dask adapter against a real LocalCluster on loopback, threads and processes."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from orchestrator_feedback import (
    BackgroundConfig,
    FeedbackConfig,
    FeedbackStorage,
    FeedbackType,
    get_plugin_manager,
    hookimpl,
)
from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin


def increment(x: int) -> int:
    time.sleep(0.01)
    return x + 1


def fail(x: int) -> int:
    raise ValueError(f"cannot handle {x}")


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_lifecycle_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: bool
) -> None:
    database = tmp_path / "dask.db"
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(database))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(FeedbackSchedulerPlugin())
        good = client.submit(increment, 1, key="increment-1")
        bad = client.submit(fail, 2, key="fail-2")
        dependent = client.submit(increment, bad, key="after-fail")
        assert good.result(timeout=30) == 2
        with pytest.raises(ValueError, match="cannot handle 2"):
            bad.result(timeout=30)
        with pytest.raises(ValueError):
            dependent.result(timeout=30)
        plugin = cluster.scheduler.plugins["orchestrator-feedback"]
        assert plugin.dropped == 0
    # closing the scheduler closed the plugin, which flushed its queue
    with FeedbackStorage(database) as storage:
        completed = storage.get_by_task("increment-1")
        kinds = [entry.feedback_type for entry in completed]
        assert FeedbackType.ALLOCATION_FEEDBACK in kinds and FeedbackType.TASK_COMPLETION in kinds
        [finish] = [e for e in completed if e.feedback_type is FeedbackType.TASK_COMPLETION]
        assert finish.metadata["execution_time"] >= 0.01
        assert finish.metadata["worker_id"].startswith(("tcp://", "inproc://"))
        [allocation] = [e for e in completed if e.feedback_type is FeedbackType.ALLOCATION_FEEDBACK]
        assert 0 < allocation.metadata["allocation_score"] <= 1
        [failure] = storage.get_by_task("fail-2")[-1:]
        assert failure.feedback_type is FeedbackType.ERROR_REPORT
        assert failure.metadata["error_type"] == "ValueError"
        assert "cannot handle 2" in failure.metadata["error_message"]
        assert (
            "Traceback" in (failure.metadata["stack_trace"] or "")
            or failure.metadata["stack_trace"]
        )
        # the dependent erred because of fail-2: not reported as its own failure
        assert storage.count(task_id="after-fail", feedback_type="error_report") == 0


def test_a_steal_is_a_second_allocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(tmp_path / "steal.db"))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    plugin = FeedbackSchedulerPlugin()
    plugin.log_event(
        "stealing", ("confirm", "key-7", "waiting", "tcp://a:1", "tcp://b:2", "steal-1")
    )
    plugin.log_event(
        "stealing", ("request", "key-7", "waiting", "tcp://a:1", "tcp://b:2", "steal-2")
    )
    plugin.flush()
    plugin.manager.close()
    with FeedbackStorage(tmp_path / "steal.db") as storage:
        [entry] = storage.get_by_task("key-7")
    assert entry.feedback_type is FeedbackType.ALLOCATION_FEEDBACK
    assert (
        entry.metadata["worker_id"] == "tcp://b:2" and entry.metadata["stolen_from"] == "tcp://a:1"
    )


def test_the_scheduler_loop_never_waits_for_a_full_queue(tmp_path: Path) -> None:
    config = FeedbackConfig(
        database=str(tmp_path / "full.db"),
        write_mode="background",
        background=BackgroundConfig(queue_size=5),  # on_full "block": not on this loop
    )
    manager = get_plugin_manager(config, load_entrypoints=False)
    release = threading.Event()

    class Stuck:
        @hookimpl
        def task_completed(self, task_id: str) -> None:
            release.wait(10)

    manager.register(Stuck())
    plugin = FeedbackSchedulerPlugin(plugin_manager=manager)
    started = time.perf_counter()
    for number in range(50):
        plugin.transition(f"task-{number}", "processing", "memory", worker="tcp://w", startstops=())
    assert time.perf_counter() - started < 1.0, "the scheduler's loop waited"
    assert 44 <= manager.counters.dropped <= 45
    release.set()
    asyncio.run(plugin.close())
    with FeedbackStorage(tmp_path / "full.db") as storage:
        assert storage.count() == 50 - manager.counters.dropped
    manager.close()


def always_fails(x: int) -> int:
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
@pytest.mark.parametrize("path", ["scheduler_kwargs", "add_plugin", "register_plugin"])
def test_every_failed_attempt_is_a_failure_and_every_path_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, processes: bool
) -> None:
    """retries=2 on a task that always fails: three failed attempts, two retried and the
    last final, each with its attempt number; on every registration path the docs name,
    with thread and process workers. register_plugin cannot carry a manager: the plugin
    builds one from the configuration on the scheduler's side."""
    database = tmp_path / "retries.db"
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(database))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    manager = None
    if path == "register_plugin":
        plugin = FeedbackSchedulerPlugin()
    else:
        manager = get_plugin_manager(
            FeedbackConfig(database=str(database), write_mode="background"),
            load_entrypoints=False,
        )
        plugin = FeedbackSchedulerPlugin(plugin_manager=manager)
    options: dict[str, object] = {}
    if path == "scheduler_kwargs":
        options["scheduler_kwargs"] = {"plugins": [plugin]}
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0",
            **options,
        ) as cluster,
        Client(cluster) as client,
    ):
        if path == "add_plugin":
            cluster.scheduler.add_plugin(plugin)  # never calls start(): found all the same
        elif path == "register_plugin":
            client.register_plugin(plugin)
        doomed = client.submit(always_fails, 1, key="doomed-1", retries=2)
        with pytest.raises(ZeroDivisionError):
            doomed.result(timeout=30)
        fine = client.submit(increment, 1, key="fine-1")
        assert fine.result(timeout=30) == 2
    if manager is not None:
        asyncio.run(plugin.close())
        manager.flush()
    with FeedbackStorage(database) as storage:
        failures = storage.get_filtered(task_id="doomed-1", feedback_type="error_report")
        attempts = sorted((f.metadata["attempt"], f.metadata["will_retry"]) for f in failures)
        assert attempts == [(1, True), (2, True), (3, False)]
        final = next(f for f in failures if not f.metadata["will_retry"])
        assert final.metadata["error_message"] == "division by zero"  # no repr quotes
        assert {f.metadata["task_type"] for f in failures} == {"doomed"}
        assert all(f.metadata["worker_id"] for f in failures)
        allocations = storage.count(task_id="doomed-1", feedback_type="allocation_feedback")
        assert allocations == 3
        kinds = {e.feedback_type for e in storage.get_by_task("fine-1")}
        assert kinds == {FeedbackType.ALLOCATION_FEEDBACK, FeedbackType.TASK_COMPLETION}
    if manager is not None:
        manager.close()


def test_register_plugin_says_that_the_manager_stays_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import pickle

    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "x.db")), load_entrypoints=False
    )
    pickle.dumps(FeedbackSchedulerPlugin(plugin_manager=manager))
    assert any("without its plugin_manager" in r.getMessage() for r in caplog.records)
    manager.close()


def test_a_real_work_steal_is_recorded_as_an_allocation_to_the_thief(tmp_path: Path) -> None:
    """200 slow tasks land on one worker (queuing off, so they are assigned at once); a
    second worker joins and steals some: each confirmed steal is an allocation to the thief,
    and a stolen task completes where its last allocation sent it."""
    import dask

    database = tmp_path / "steal.db"
    manager = get_plugin_manager(
        FeedbackConfig(database=str(database), write_mode="background"), load_entrypoints=False
    )
    plugin = FeedbackSchedulerPlugin(plugin_manager=manager)
    with (
        dask.config.set({"distributed.scheduler.worker-saturation": float("inf")}),
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=":0",
            scheduler_kwargs={"plugins": [plugin]},
        ) as cluster,
        Client(cluster) as client,
    ):
        futures = client.map(increment, range(200), pure=False)
        time.sleep(0.3)
        cluster.scale(2)
        client.wait_for_workers(2)
        client.gather(futures)
    asyncio.run(plugin.close())
    manager.flush()
    with FeedbackStorage(database) as storage:
        steals = [
            e
            for e in storage.get_filtered(feedback_type="allocation_feedback", limit=None)
            if "stolen_from" in e.metadata
        ]
        assert steals, "no steal happened: the case is not exercised"
        for steal in steals:
            assert steal.metadata["worker_id"] != steal.metadata["stolen_from"]
            [done] = storage.get_filtered(task_id=steal.task_id, feedback_type="task_completion")
            allocations = storage.get_filtered(
                task_id=steal.task_id, feedback_type="allocation_feedback"
            )
            assert done.metadata["worker_id"] == allocations[-1].metadata["worker_id"]
    manager.close()


def _steal(plugin: FeedbackSchedulerPlugin, number: int) -> None:
    plugin.log_event(
        "stealing",
        ("confirm", f"key-{number}", "waiting", "tcp://a:1", "tcp://b:2", f"steal-{number}"),
    )


def test_the_scheduler_process_builds_no_entries_and_flush_confirms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a manager the hooks fire in the recording process: this process gets no
    store writer thread, and flush() returns once the entries are committed there."""
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(tmp_path / "r.db"))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    plugin = FeedbackSchedulerPlugin()
    for number in range(300):
        _steal(plugin, number)
    assert plugin.flush(timeout=60)
    with FeedbackStorage(tmp_path / "r.db") as storage:
        assert storage.count() == 300
    import os

    from orchestrator_feedback.adapters.dask_sinks import RecordingProcessSink

    sink = plugin._sink
    assert isinstance(sink, RecordingProcessSink) and sink._child is not None
    # the recorder only runs on idle cores: the idle scheduling class
    assert os.sched_getscheduler(sink._child.pid) == os.SCHED_IDLE
    names = {thread.name for thread in threading.enumerate()}
    assert "orchestrator-feedback-writer" not in names
    asyncio.run(plugin.close())


def test_the_recording_process_starts_with_the_plugin_and_records_without_a_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording process starts with the scheduler, before any task (its start-up is
    not paid during the first tasks), and what it gathers is stored within a few seconds
    even when nobody flushes and nothing more arrives."""
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(tmp_path / "s.db"))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    plugin = FeedbackSchedulerPlugin()
    asyncio.run(plugin.start(object()))
    sink = plugin._sink
    deadline = time.monotonic() + 30
    while getattr(sink, "_child", None) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert getattr(sink, "_child", None) is not None, "no recording process before any event"
    for number in range(20):
        _steal(plugin, number)
    count = 0
    deadline = time.monotonic() + 30
    while count < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
        if (tmp_path / "s.db").exists():
            with FeedbackStorage(tmp_path / "s.db") as storage:
                count = storage.count()
    assert count == 20
    asyncio.run(plugin.close())


def test_what_was_sent_survives_a_killed_scheduler(tmp_path: Path) -> None:
    """SIGKILL the scheduler's process once its events are sent: the recording process
    sees its input end and commits all of them."""
    import os
    import signal
    import subprocess
    import sys

    database = tmp_path / "killed.db"
    script = (
        "import sys, time\n"
        "from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin\n"
        "from tests.adapters.test_dask import _steal\n"
        "plugin = FeedbackSchedulerPlugin()\n"
        "for number in range(500):\n"
        "    _steal(plugin, number)\n"
        "time.sleep(1.0)\n"  # twenty gathering intervals: everything is sent
        "print('sent', flush=True)\n"
        "time.sleep(60)\n"
    )
    environment = {
        **os.environ,
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
        "ORCHESTRATOR_FEEDBACK_PLUGINS": "",
    }
    scheduler = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        env=environment,
        cwd=Path(__file__).parents[2],
    )
    assert scheduler.stdout is not None
    assert scheduler.stdout.readline() == b"sent\n"
    scheduler.send_signal(signal.SIGKILL)
    scheduler.wait()
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline:
        if database.exists():
            with FeedbackStorage(database) as storage:
                count = storage.count()
            if count == 500:
                break
        time.sleep(0.2)
    assert count == 500


def test_a_recording_process_that_dies_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from orchestrator_feedback.adapters import dask_sinks

    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(tmp_path / "d.db"))
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_PLUGINS", "")
    monkeypatch.setattr(dask_sinks, "RESTART_DELAY", 0.5)
    plugin = FeedbackSchedulerPlugin()
    _steal(plugin, 1)
    assert plugin.flush(timeout=60)
    sink = plugin._sink
    assert isinstance(sink, dask_sinks.RecordingProcessSink) and sink._child is not None
    sink._child.kill()
    sink._child.wait()
    _steal(plugin, 2)  # no recording process: lost, and said so
    assert not plugin.flush(timeout=60)
    assert any("ended with exit code" in r.getMessage() for r in caplog.records)
    assert sink.lost == 1
    time.sleep(0.6)
    _steal(plugin, 3)
    assert plugin.flush(timeout=60)
    asyncio.run(plugin.close())
    with FeedbackStorage(tmp_path / "d.db") as storage:
        assert sorted(e.task_id for e in storage.get_all()) == ["key-1", "key-3"]


def test_a_retried_attempt_after_a_steal_is_the_thiefs_failure() -> None:
    """The scheduler reports a retried attempt without its worker: after a steal, the
    attempt ran on the thief, so its failure is the thief's, not the victim's."""
    from orchestrator_feedback.adapters.dask_events import DaskEventTranslator

    translator = DaskEventTranslator()
    raw = [
        ("allocated", "inc-1", "tcp://a:1", "a", 3, "update-graph-1", 2),
        ("stolen", "inc-1", "tcp://a:1", "tcp://b:2", "steal-1"),
        ("retried", "inc-1", 1),
        ("allocated", "inc-1", "tcp://a:1", "a", 0, "task-erred-1", 1),
        ("retried", "inc-1", 0),
    ]
    calls = [call for event in raw for call in translator.hook_calls(event)]
    hooks = [
        (name, arguments["worker_id"], arguments["metadata"].get("attempt"))
        for name, arguments in calls
    ]
    assert hooks == [
        ("worker_allocated", "tcp://a:1", 1),
        ("worker_allocated", "tcp://b:2", 1),
        ("task_failed", "tcp://b:2", 1),
        ("worker_allocated", "tcp://a:1", 2),
        ("task_failed", "tcp://a:1", 2),
    ]
