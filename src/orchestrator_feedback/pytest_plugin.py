"""pytest fixtures for people who write orchestrator-feedback plugins and hosts.

Installed as a ``pytest11`` entry point, so the fixtures are available in any test
suite once orchestrator-feedback is installed:

- ``feedback_storage``: a ``FeedbackStorage`` on a fresh SQLite file;
- ``feedback_plugin_manager``: a plugin manager storing into it, third-party entry
  points not loaded (register the plugin under test yourself);
- ``recorded_feedback``: the entries committed during the test, in commit order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_feedback.config import FeedbackConfig
from orchestrator_feedback.host import get_plugin_manager
from orchestrator_feedback.manager import FeedbackPluginManager
from orchestrator_feedback.markers import hookimpl
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage import FeedbackStorage


@pytest.fixture
def feedback_storage(tmp_path: Path) -> Iterator[FeedbackStorage]:
    """A ``FeedbackStorage`` on a fresh SQLite file in the test's temporary directory."""
    with FeedbackStorage(tmp_path / "feedback.db") as storage:
        yield storage


@pytest.fixture
def feedback_plugin_manager(
    feedback_storage: FeedbackStorage, tmp_path: Path
) -> Iterator[FeedbackPluginManager]:
    """A plugin manager whose built-in plugin stores into ``feedback_storage``.

    Entry-point plugins are not loaded: register the plugin under test with
    ``feedback_plugin_manager.register(plugin)``.
    """
    config = FeedbackConfig(database=str(tmp_path / "feedback.db"))
    manager = get_plugin_manager(config, storage=feedback_storage, load_entrypoints=False)
    yield manager
    manager.close()


@pytest.fixture
def strict_feedback_plugin_manager(
    feedback_storage: FeedbackStorage, tmp_path: Path
) -> Iterator[FeedbackPluginManager]:
    """As ``feedback_plugin_manager``, but ``strict``: an exception in a plugin reaches the
    test instead of being logged and isolated, so a plugin that breaks fails its test. Use it
    to test your plugin; ``feedback_plugin_manager`` shows what a host sees."""
    config = FeedbackConfig(database=str(tmp_path / "feedback.db"), strict=True)
    manager = get_plugin_manager(config, storage=feedback_storage, load_entrypoints=False)
    yield manager
    manager.close()


class _Recorder:
    def __init__(self) -> None:
        self.entries: list[FeedbackEntry] = []

    @hookimpl
    def feedback_recorded(self, entry: FeedbackEntry) -> None:
        self.entries.append(entry)


@pytest.fixture
def recorded_feedback(request: pytest.FixtureRequest) -> list[FeedbackEntry]:
    """The entries committed through the test's manager (``strict_feedback_plugin_manager``
    if the test asks for it, else ``feedback_plugin_manager``) during the test."""
    name = (
        "strict_feedback_plugin_manager"
        if "strict_feedback_plugin_manager" in request.fixturenames
        else "feedback_plugin_manager"
    )
    manager: FeedbackPluginManager = request.getfixturevalue(name)
    recorder = _Recorder()
    manager.register(recorder, name="recorded-feedback-fixture")
    return recorder.entries
