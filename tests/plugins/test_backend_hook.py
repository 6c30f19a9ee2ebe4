"""A plugin can serve a URL scheme of its own through the feedback_backend hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackError,
    FeedbackPluginManager,
    StorageBackend,
    get_plugin_manager,
    hookimpl,
    open_storage,
)
from orchestrator_feedback.storage.backends.sqlite import SQLiteBackend


class FolderBackends:
    """Serves ``folder://NAME`` as a SQLite file NAME.db in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.asked: list[str] = []

    @hookimpl
    def feedback_backend(self, url: str, pool_size: int, timeout: float) -> StorageBackend | None:
        self.asked.append(url)
        if not url.startswith("folder://"):
            return None
        name = url.removeprefix("folder://")
        return SQLiteBackend(str(self.folder / f"{name}.db"), pool_size=pool_size, timeout=timeout)


def test_a_plugin_serves_its_scheme(
    feedback_plugin_manager: FeedbackPluginManager, tmp_path: Path
) -> None:
    plugin = FolderBackends(tmp_path)
    feedback_plugin_manager.register(plugin)
    with open_storage("folder://team-a", feedback_plugin_manager) as storage:
        assert storage.count() == 0
    assert (tmp_path / "team-a.db").exists()
    assert plugin.asked == ["folder://team-a"]
    with pytest.raises(FeedbackError, match="no storage backend for nope://"):
        open_storage("nope://x", feedback_plugin_manager)


def test_built_in_schemes_never_ask_plugins(
    feedback_plugin_manager: FeedbackPluginManager, tmp_path: Path
) -> None:
    plugin = FolderBackends(tmp_path)
    feedback_plugin_manager.register(plugin)
    open_storage(str(tmp_path / "plain.db"), feedback_plugin_manager).close()
    open_storage(f"sqlite:///{tmp_path}/url.db", feedback_plugin_manager).close()
    assert plugin.asked == []


def test_the_configured_database_can_use_a_plugin_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A manager built from configuration loads plugins before it opens the database;
    # here the plugin arrives the way an entry point would hand it over.
    plugin = FolderBackends(tmp_path)
    original = FeedbackPluginManager.__init__

    def init_with_plugin(self: FeedbackPluginManager, config: FeedbackConfig) -> None:
        original(self, config)
        self.register(plugin, name="folders")

    monkeypatch.setattr(FeedbackPluginManager, "__init__", init_with_plugin)
    manager = get_plugin_manager(
        FeedbackConfig(database="folder://configured"), load_entrypoints=False
    )
    manager.hook.task_reviewed(task_id="t", reviewer_id="r", rating=4, comment=None, metadata={})
    manager.close()
    with open_storage(str(tmp_path / "configured.db")) as storage:
        assert storage.count() == 1
