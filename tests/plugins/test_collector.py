"""FeedbackCollector: the seed's coroutines, collection points, and requests for feedback."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import (
    CollectionPointConfig,
    FeedbackCollector,
    FeedbackConfig,
    FeedbackEntry,
    FeedbackPluginManager,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
    hookimpl,
)


@pytest.fixture
def collector(feedback_plugin_manager: FeedbackPluginManager) -> FeedbackCollector:
    return FeedbackCollector(plugin_manager=feedback_plugin_manager)


def test_the_seeds_collector_examples(
    collector: FeedbackCollector, feedback_storage: FeedbackStorage
) -> None:
    async def seed() -> None:
        # Collect task completion feedback
        await collector.collect_task_completion_feedback(
            task_id="task-123",
            worker_id="worker-456",
            success=True,
            execution_time=45.3,
            output_quality="high",
        )

        # Collect worker performance feedback
        await collector.collect_worker_performance_feedback(
            worker_id="worker-456",
            task_id="task-123",
            performance_metrics={"speed": 0.9, "accuracy": 0.95, "resource_efficiency": 0.85},
        )
        await collector.collect_task_completion_feedback(
            task_id="task-123", worker_id="worker-456", success=True
        )
        await collector.collect_allocation_feedback(
            task_id="task-123",
            worker_id="worker-456",
            allocation_score=0.7,
            allocation_reason="least loaded",
        )
        try:
            raise ValueError("bad input")
        except Exception as e:
            await collector.collect_error_feedback(
                task_id="task-123",
                error_type=type(e).__name__,
                error_message=str(e),
                stack_trace=traceback.format_exc(),
            )

    asyncio.run(seed())
    types = [e.feedback_type for e in feedback_storage.get_by_task("task-123")]
    assert types == [
        FeedbackType.TASK_COMPLETION,
        FeedbackType.WORKER_PERFORMANCE,
        FeedbackType.TASK_COMPLETION,
        FeedbackType.ALLOCATION_FEEDBACK,
        FeedbackType.ERROR_REPORT,
    ]
    error = feedback_storage.get_by_type(FeedbackType.ERROR_REPORT)[0]
    assert "ValueError: bad input" in error.content
    assert "Traceback" in error.metadata["stack_trace"]


def test_coroutines_return_the_stored_entry_and_tell_other_plugins(
    collector: FeedbackCollector,
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    recorded_feedback: list[FeedbackEntry],
) -> None:
    events: list[dict[str, Any]] = []

    class Listener:
        @hookimpl
        def task_completed(self, task_id: str, success: bool) -> None:
            events.append({"task_id": task_id, "success": success})

    feedback_plugin_manager.register(Listener())
    entry = asyncio.run(collector.collect_task_completion_feedback(task_id="t", worker_id="w"))
    assert entry is not None and feedback_storage.get_all() == [entry]
    assert recorded_feedback == [entry]
    assert events == [{"task_id": "t", "success": True}]


def test_the_event_loop_keeps_running_while_storage_works(
    collector: FeedbackCollector, feedback_storage: FeedbackStorage
) -> None:
    ticks: list[float] = []
    release = threading.Event()

    async def ticker() -> None:
        while not release.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.005)

    async def run() -> FeedbackEntry | None:
        task = asyncio.create_task(ticker())
        with feedback_storage.transaction():  # holds a connection; the write must wait
            waiting = asyncio.create_task(
                collector.collect_feedback(task_id="t", feedback_type="general", content="c")
            )
            await asyncio.sleep(0.2)
            assert not waiting.done()
            # the loop kept ticking while the write waited in its thread
            assert len(ticks) > 10
        release.set()
        await task
        return await waiting

    entry = asyncio.run(run())
    assert entry is not None and feedback_storage.get(entry.id) == entry


def test_disabled_points_store_nothing(feedback_storage: FeedbackStorage, tmp_path: Path) -> None:
    config = FeedbackConfig(
        database=str(tmp_path / "f.db"),
        collection_points={
            "task_completion": CollectionPointConfig(enabled=False),
            "general": CollectionPointConfig(enabled=False),
        },
    )
    collector = FeedbackCollector(feedback_storage, config=config)
    assert asyncio.run(collector.collect_task_completion_feedback(task_id="t")) is None
    assert (
        asyncio.run(collector.collect_feedback(task_id="t", feedback_type="general", content="c"))
        is None
    )
    assert (
        asyncio.run(collector.collect_allocation_feedback(task_id="t", worker_id="w")) is not None
    )
    assert feedback_storage.count() == 1
    collector.plugin_manager.close()


def test_a_point_can_change_the_stored_type(
    feedback_storage: FeedbackStorage, tmp_path: Path
) -> None:
    config = FeedbackConfig(
        collection_points={
            "task_completion": CollectionPointConfig(feedback_type=FeedbackType.TASK_QUALITY)
        }
    )
    collector = FeedbackCollector(feedback_storage, config=config)
    entry = asyncio.run(collector.collect_task_completion_feedback(task_id="t"))
    assert entry is not None and entry.feedback_type is FeedbackType.TASK_QUALITY


def test_bad_input_raises_to_the_caller(
    collector: FeedbackCollector, feedback_storage: FeedbackStorage
) -> None:
    with pytest.raises(FeedbackValidationError, match="rating"):
        asyncio.run(
            collector.collect_feedback(task_id="t", feedback_type="general", content="c", rating=6)
        )
    with pytest.raises(FeedbackValidationError, match="task_id"):
        asyncio.run(collector.collect_task_completion_feedback(task_id=""))
    assert feedback_storage.count() == 0


def test_an_unknown_task_is_a_clear_error(
    collector: FeedbackCollector, feedback_plugin_manager: FeedbackPluginManager
) -> None:
    class Host:
        @hookimpl
        def feedback_task_exists(self, task_id: str) -> bool:
            return False

    feedback_plugin_manager.register(Host())
    with pytest.raises(FeedbackValidationError, match="task_id: the host says no such task"):
        asyncio.run(collector.collect_task_completion_feedback(task_id="ghost"))


def test_request_feedback_asks_plugins_and_stores_the_answer(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    asked: list[tuple[str, str, str]] = []

    class Reviewer:
        @hookimpl
        def feedback_request(self, prompt: str, task_id: str, point: str) -> Mapping[str, Any]:
            asked.append((prompt, task_id, point))
            return {"rating": 4, "content": "solid work"}

    config = FeedbackConfig(
        collection_points={
            "review": CollectionPointConfig(
                prompt="Rate it", feedback_type=FeedbackType.TASK_QUALITY
            )
        }
    )
    collector = FeedbackCollector(config=config, plugin_manager=feedback_plugin_manager)
    assert asyncio.run(collector.request_feedback("review", "t")) is None  # nobody can ask yet
    feedback_plugin_manager.register(Reviewer())
    entry = asyncio.run(collector.request_feedback("review", "t"))
    assert entry is not None and feedback_storage.get(entry.id) == entry
    assert (entry.rating, entry.content, entry.feedback_type) == (
        4,
        "solid work",
        FeedbackType.TASK_QUALITY,
    )
    assert asked == [("Rate it", "t", "review")]


def test_a_bad_answer_is_refused(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    class Careless:
        @hookimpl
        def feedback_request(self) -> Mapping[str, Any]:
            return {"rating": 11, "content": "!"}

    feedback_plugin_manager.register(Careless())
    collector = FeedbackCollector(plugin_manager=feedback_plugin_manager)
    with pytest.raises(FeedbackValidationError, match="rating"):
        asyncio.run(collector.request_feedback("review", "t"))
    assert feedback_storage.count() == 0
