"""Shared fixtures: the storage contract suite runs once per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

BACKENDS = ["sqlite-file", "sqlite-memory"]


def open_store(kind: str, tmp_path: Path, **options: Any) -> FeedbackStorage:
    """Open a fresh store of the given kind."""
    if kind == "sqlite-file":
        return FeedbackStorage(tmp_path / "feedback.db", **options)
    if kind == "sqlite-memory":
        return FeedbackStorage(":memory:", **options)
    raise AssertionError(kind)


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
def storage(backend_kind: str, tmp_path: Path) -> Iterator[FeedbackStorage]:
    """A fresh, empty store on each backend."""
    store = open_store(backend_kind, tmp_path)
    yield store
    store.close()


@pytest.fixture
def make_entry() -> Callable[..., FeedbackEntry]:
    """Build a valid entry; keyword arguments override the defaults."""

    def build(**overrides: Any) -> FeedbackEntry:
        fields: dict[str, Any] = {
            "task_id": "task-123",
            "feedback_type": FeedbackType.TASK_COMPLETION,
            "content": "Task completed successfully",
            "rating": 5,
            "user_id": "user-456",
            "metadata": {"worker_id": "worker-1", "execution_time": 45.3},
        }
        fields.update(overrides)
        return FeedbackEntry(**fields)

    return build
