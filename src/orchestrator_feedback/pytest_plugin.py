"""pytest fixtures for people who write orchestrator-feedback plugins and hosts.

Installed as a ``pytest11`` entry point, so the fixtures are available in any test
suite once orchestrator-feedback is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_feedback.storage import FeedbackStorage


@pytest.fixture
def feedback_storage(tmp_path: Path) -> Iterator[FeedbackStorage]:
    """A ``FeedbackStorage`` on a fresh SQLite file in the test's temporary directory."""
    with FeedbackStorage(tmp_path / "feedback.db") as storage:
        yield storage
