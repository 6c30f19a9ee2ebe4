"""The adapters' forwarding thread: bounded like the store's queue, waiting for room or
dropping as ``on_full`` says."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from orchestrator_feedback import (
    BackgroundConfig,
    FeedbackConfig,
    FeedbackPluginManager,
    get_plugin_manager,
    hookimpl,
)
from orchestrator_feedback.adapters._manager import HookForwarder


class Stuck:
    """Holds the forwarding thread in its first hook call until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def task_completed(self, task_id: str) -> None:
        self.release.wait(10)


def fire(forwarder: HookForwarder, number: int) -> None:
    forwarder.fire(
        "task_completed",
        task_id=f"t{number}",
        worker_id="w",
        success=True,
        execution_time=1.0,
        output_quality=None,
        metadata={},
    )


def stored(manager: FeedbackPluginManager) -> int:
    plugin = manager.feedback_plugin
    assert plugin is not None
    return plugin.storage.count()


def test_with_drop_a_forwarder_that_falls_behind_drops_counts_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = FeedbackConfig(
        database=str(tmp_path / "f.db"), background=BackgroundConfig(queue_size=5, on_full="drop")
    )
    manager = get_plugin_manager(config, load_entrypoints=False)
    stuck = Stuck()
    manager.register(stuck)
    forwarder = HookForwarder(manager)
    started = time.perf_counter()
    for number in range(50):
        fire(forwarder, number)
    assert time.perf_counter() - started < 1.0, "the orchestrator's thread waited"
    dropped = manager.counters.dropped
    assert 44 <= dropped <= 45  # five wait in the queue, and perhaps one in the stuck hook
    warnings = [r.getMessage() for r in caplog.records if "event queue full" in r.getMessage()]
    assert len(warnings) == 1 and "1 event dropped" in warnings[0]

    stuck.release.set()
    forwarder.stop()  # fires what is queued; says what the rate limit held back
    warnings = [r.getMessage() for r in caplog.records if "event queue full" in r.getMessage()]
    assert len(warnings) == 2 and f"{dropped} in all" in warnings[1]
    assert stored(manager) == 50 - dropped
    manager.close()


def test_by_default_a_full_forwarder_makes_the_caller_wait_and_loses_nothing(
    tmp_path: Path,
) -> None:
    config = FeedbackConfig(
        database=str(tmp_path / "f.db"), background=BackgroundConfig(queue_size=5)
    )
    manager = get_plugin_manager(config, load_entrypoints=False)
    stuck = Stuck()
    manager.register(stuck)
    forwarder = HookForwarder(manager)
    host = threading.Thread(target=lambda: [fire(forwarder, number) for number in range(50)])
    host.start()
    host.join(timeout=0.3)
    assert host.is_alive(), "the caller did not wait for room"
    stuck.release.set()
    host.join(timeout=10)
    assert not host.is_alive()
    forwarder.stop()
    assert manager.counters.dropped == 0
    assert stored(manager) == 50
    manager.close()


def test_flush_waits_for_the_events_queued_before_it(tmp_path: Path) -> None:
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "f.db")), load_entrypoints=False
    )
    stuck = Stuck()
    manager.register(stuck)
    forwarder = HookForwarder(manager)
    for number in range(3):
        fire(forwarder, number)
    assert forwarder.flush(timeout=0.2) is False  # the first is still in the stuck hook
    stuck.release.set()
    assert forwarder.flush(timeout=10) is True
    assert stored(manager) == 3
    forwarder.stop()
    manager.close()
