"""The plugin manager: isolation, unknown hooks, entry points, allow and deny lists."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pluggy
import pytest

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackPluginManager,
    FeedbackStorage,
    PluginsConfig,
    get_plugin_manager,
    hookimpl,
    list_plugins,
)


class Broken:
    @hookimpl
    def feedback_recorded(self, entry: FeedbackEntry) -> None:
        raise RuntimeError("subscriber bug")

    @hookimpl
    def task_completed(self, task_id: str) -> None:
        raise ValueError("host-side subscriber bug")


def test_one_broken_subscriber_breaks_nothing(
    feedback_plugin_manager: FeedbackPluginManager,
    feedback_storage: FeedbackStorage,
    recorded_feedback: list[FeedbackEntry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    feedback_plugin_manager.register(Broken(), name="broken")
    heard: list[str] = []

    class After:
        @hookimpl(trylast=True)
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            heard.append(entry.id)

    feedback_plugin_manager.register(After())
    with caplog.at_level(logging.ERROR):
        results = feedback_plugin_manager.hook.task_completed(
            task_id="t",
            worker_id="w",
            success=True,
            execution_time=1.0,
            output_quality=None,
            metadata={},
        )
    assert feedback_storage.count() == 1
    assert [e.id for e in results] == heard == [e.id for e in recorded_feedback]
    assert feedback_plugin_manager.counters.subscriber_failures == 2
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "plugin 'broken' failed in hook feedback_recorded" in messages
    assert "plugin 'broken' failed in hook task_completed" in messages
    assert all(r.exc_info for r in caplog.records if r.levelno == logging.ERROR)


def test_strict_lets_the_error_reach_the_host(tmp_path: Path) -> None:
    config = FeedbackConfig(database=str(tmp_path / "f.db"), strict=True)
    manager = get_plugin_manager(config, load_entrypoints=False)
    manager.register(Broken(), name="broken")
    with pytest.raises(ValueError, match="host-side subscriber bug"):
        manager.hook.task_completed(
            task_id="t",
            worker_id="w",
            success=True,
            execution_time=1.0,
            output_quality=None,
            metadata={},
        )
    manager.close()


def test_a_misspelled_hook_is_refused_by_name(
    feedback_plugin_manager: FeedbackPluginManager,
) -> None:
    class Misspelled:
        @hookimpl
        def feedback_recorder(self, entry: FeedbackEntry) -> None: ...

    with pytest.raises(pluggy.PluginValidationError, match="feedback_recorder"):
        feedback_plugin_manager.register(Misspelled())
    assert not any(isinstance(p, Misspelled) for p in feedback_plugin_manager.get_plugins())


def test_wrong_arguments_are_refused(feedback_plugin_manager: FeedbackPluginManager) -> None:
    class Wrong:
        @hookimpl
        def feedback_recorded(self, record: Any) -> None: ...

    with pytest.raises(pluggy.PluginValidationError, match="record"):
        feedback_plugin_manager.register(Wrong())


def test_hookwrappers_still_work(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    calls: list[str] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def task_reviewed(self) -> Any:
            calls.append("before")
            result = yield
            calls.append(f"after {len(result)}")
            return result

    feedback_plugin_manager.register(Wrapper())
    feedback_plugin_manager.hook.task_reviewed(
        task_id="t", reviewer_id="r", rating=4, comment=None, metadata={}
    )
    assert calls == ["before", "after 1"] and feedback_storage.count() == 1


def test_disabled_builtin_plugin_stores_nothing(tmp_path: Path) -> None:
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "f.db"), enabled=False), load_entrypoints=False
    )
    assert manager.feedback_plugin is None
    assert (
        manager.hook.task_reviewed(
            task_id="t", reviewer_id="r", rating=4, comment=None, metadata={}
        )
        == []
    )
    assert not (tmp_path / "f.db").exists()


def test_list_plugins_describes_the_builtin_and_hand_registered_ones(
    feedback_plugin_manager: FeedbackPluginManager,
) -> None:
    feedback_plugin_manager.register(Broken(), name="broken")
    infos = {info.name: info for info in list_plugins(feedback_plugin_manager)}
    builtin = infos["feedback"]
    assert builtin.status == "active" and builtin.distribution == "orchestrator-feedback"
    assert builtin.version and "task_completed" in builtin.hooks
    assert infos["broken"].hooks == ["feedback_recorded", "task_completed"]


def test_tracing_is_logged_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_TRACE", "1")
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "f.db")), load_entrypoints=False
    )
    with caplog.at_level(logging.DEBUG, logger="orchestrator_feedback.trace"):
        manager.hook.task_reviewed(
            task_id="t", reviewer_id="r", rating=4, comment=None, metadata={}
        )
    assert "task_reviewed" in caplog.text
    manager.close()


def test_config_allow_list_is_honoured_without_entry_points(tmp_path: Path) -> None:
    config = FeedbackConfig(
        database=str(tmp_path / "f.db"), plugins=PluginsConfig(enable=("nothing",))
    )
    manager = get_plugin_manager(config)
    assert [info.name for info in list_plugins(manager) if info.status == "active"] == ["feedback"]
    manager.close()


def test_the_content_limit_is_each_managers_own(tmp_path: Path) -> None:
    """Two managers with different limits in one process: each keeps its own, and the
    model's class-wide limit is left as it was."""
    before = FeedbackEntry.max_content_length
    short = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "short.db"), max_content_length=60),
        load_entrypoints=False,
    )
    roomy = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "roomy.db")), load_entrypoints=False
    )
    reason = "x" * 100
    assert FeedbackEntry.max_content_length == before
    arguments = {"task_id": "t", "worker_id": "w", "allocation_score": None, "metadata": {}}
    assert short.hook.worker_allocated(**arguments, allocation_reason=reason) == []  # rejected
    assert short.counters.rejected == 1
    [stored] = roomy.hook.worker_allocated(**arguments, allocation_reason=reason)
    assert stored is not None and reason in stored.content
    short.close()
    roomy.close()


def test_a_configured_limit_above_the_models_is_refused() -> None:
    from orchestrator_feedback.errors import FeedbackValidationError

    with pytest.raises(FeedbackValidationError, match=r"max_content_length.*at most 65,536"):
        FeedbackConfig(max_content_length=100_000)


def test_isolation_goes_through_pluggys_public_api() -> None:
    """A plugin is registered as a stand-in holding its isolated implementations (no write
    into pluggy's ``HookImpl``); every method of the manager still speaks of the plugin."""
    import pluggy

    from orchestrator_feedback import FeedbackConfig, get_plugin_manager

    hookimpl = pluggy.HookimplMarker("orchestrator_feedback")

    class Failing:
        @hookimpl
        def feedback_recorded(self, entry: object) -> None:
            raise RuntimeError("broken plugin")

    plugin = Failing()
    pm = get_plugin_manager(FeedbackConfig(database=":memory:"), load_entrypoints=False)
    try:
        assert pm.register(plugin, name="failing") == "failing"
        assert pm.get_plugin("failing") is plugin and pm.is_registered(plugin)
        assert pm.get_name(plugin) == "failing" and ("failing", plugin) in pm.list_name_plugin()
        assert plugin in pm.get_plugins()
        [caller] = pm.get_hookcallers(plugin) or []
        [implementation] = [i for i in caller.get_hookimpls() if i.plugin_name == "failing"]
        assert implementation.function is vars(implementation.plugin)["feedback_recorded"]
        pm.hook.task_completed(
            task_id="t",
            worker_id="w",
            success=True,
            execution_time=None,
            output_quality=None,
            metadata={},
        )
        assert pm.counters.snapshot()["subscriber_failures"] == 1
        assert pm.unregister(plugin) is plugin and not pm.is_registered(plugin)
    finally:
        pm.close()
