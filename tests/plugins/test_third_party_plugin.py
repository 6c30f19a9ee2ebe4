"""The example third-party package, installed for real: found, listed, disabled, isolated."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackPluginManager,
    PluginLoadError,
    PluginsConfig,
    get_plugin_manager,
    list_plugins,
)
from tests.plugins.examples import install_example


@pytest.fixture(scope="session")
def alerts_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package installed (with its entry point) into a folder of its own."""
    return install_example("alerts_plugin", tmp_path_factory)


@pytest.fixture
def installed(alerts_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(alerts_site))
    for name in ("ORCHESTRATOR_FEEDBACK_PLUGINS", "ORCHESTRATOR_FEEDBACK_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    import orchestrator_feedback_alerts as alerts

    alerts.flagged.clear()
    alerts.settings.update(threshold=2, fail=False)
    yield


def manager_for(tmp_path: Path, **config: object) -> FeedbackPluginManager:
    return get_plugin_manager(FeedbackConfig(database=str(tmp_path / "f.db"), **config))  # type: ignore[arg-type]


def review(manager: FeedbackPluginManager, rating: int) -> None:
    manager.hook.task_reviewed(
        task_id="t", reviewer_id="r", rating=rating, comment=None, metadata={}
    )


def statuses(manager: FeedbackPluginManager) -> dict[str, str]:
    return {info.name: info.status for info in list_plugins(manager)}


@pytest.mark.usefixtures("installed")
def test_found_listed_and_subscribed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import orchestrator_feedback_alerts as alerts

    manager = manager_for(tmp_path)
    [info] = [i for i in list_plugins(manager) if i.name == "alerts"]
    assert (info.status, info.distribution, info.version) == (
        "active",
        "orchestrator-feedback-alerts",
        "0.1.0",
    )
    assert info.hooks == ["feedback_configure", "feedback_recorded"]
    review(manager, 1)
    review(manager, 5)
    assert [e.rating for e in alerts.flagged] == [1]
    assert "low rating 1" in caplog.text
    manager.close()


@pytest.mark.usefixtures("installed")
def test_settings_come_from_the_config(tmp_path: Path) -> None:
    import orchestrator_feedback_alerts as alerts

    manager = manager_for(tmp_path, plugins=PluginsConfig(settings={"alerts": {"threshold": 4}}))
    review(manager, 4)
    assert len(alerts.flagged) == 1
    manager.close()


@pytest.mark.usefixtures("installed")
def test_disabled_by_config(tmp_path: Path) -> None:
    import orchestrator_feedback_alerts as alerts

    for plugins in (PluginsConfig(disable=("alerts",)), PluginsConfig(enable=("other",))):
        manager = manager_for(tmp_path, plugins=plugins)
        assert statuses(manager)["alerts"] == "disabled"
        review(manager, 1)
        manager.close()
    assert alerts.flagged == []


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize(
    ("variable", "value", "status"),
    [
        ("ORCHESTRATOR_FEEDBACK_DISABLE_PLUGINS", "alerts", "disabled"),
        ("ORCHESTRATOR_FEEDBACK_DISABLE_PLUGINS", "other, alerts", "disabled"),
        ("ORCHESTRATOR_FEEDBACK_PLUGINS", "", "disabled"),
        ("ORCHESTRATOR_FEEDBACK_PLUGINS", "alerts", "active"),
        ("ORCHESTRATOR_FEEDBACK_PLUGINS", "other", "disabled"),
    ],
)
def test_disabled_and_enabled_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, status: str
) -> None:
    monkeypatch.setenv(variable, value)
    manager = manager_for(tmp_path, plugins=PluginsConfig(enable=("alerts",)))
    assert statuses(manager)["alerts"] == status
    manager.close()


@pytest.mark.usefixtures("installed")
def test_an_exception_inside_it_breaks_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = manager_for(tmp_path, plugins=PluginsConfig(settings={"alerts": {"fail": True}}))
    with caplog.at_level(logging.ERROR):
        review(manager, 1)
    plugin = manager.feedback_plugin
    assert plugin is not None and plugin.storage.count() == 1
    assert "plugin 'alerts' failed in hook feedback_recorded" in caplog.text
    assert manager.counters.subscriber_failures == 1
    manager.close()


def test_a_plugin_that_fails_to_import_is_skipped_and_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    dist_info = site / "broken_plugin-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[orchestrator_feedback]\nbroken = broken_plugin\n")
    (site / "broken_plugin.py").write_text("raise ImportError('missing dependency: frobnicate')\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("ORCHESTRATOR_FEEDBACK_PLUGINS", raising=False)
    manager = manager_for(tmp_path)
    [info] = [i for i in list_plugins(manager) if i.name == "broken"]
    assert info.status == "failed" and "frobnicate" in (info.error or "")
    assert info.distribution == "broken-plugin" and info.version == "1.0"
    review(manager, 3)  # the host goes on
    manager.close()
    with pytest.raises(PluginLoadError, match="broken"):
        manager_for(tmp_path, strict=True)
