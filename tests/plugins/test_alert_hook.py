"""``feedback_alert`` and ``[alerts]``: the built-in plugin's store detects changes and
tells plugins; a broken alert plugin never reaches the host; ``deprioritise``."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator_feedback import (
    Alert,
    FeedbackPluginManager,
    FeedbackValidationError,
    get_plugin_manager,
    hookimpl,
    load_config,
)
from orchestrator_feedback.cli import cli
from orchestrator_feedback.config import config_from_mapping
from tests.plugins.test_advice import ask, fire_outcomes


def manager(tmp_path: Path, write_mode: str = "sync", **alerts: Any) -> FeedbackPluginManager:
    settings: dict[str, Any] = {
        "database": str(tmp_path / "f.db"),
        "write_mode": write_mode,
        "alerts": alerts,
    }
    return get_plugin_manager(config_from_mapping(settings), load_entrypoints=False)


class Pager:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    @hookimpl
    def feedback_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)


class Broken:
    @hookimpl
    def feedback_alert(self, alert: Alert) -> None:
        raise RuntimeError("the pager is down")


def turn_flaky(pm: FeedbackPluginManager) -> None:
    for _ in range(10):
        fire_outcomes(pm, "flaky", 19, 1)
        fire_outcomes(pm, "solid", 19, 1)
    fire_outcomes(pm, "flaky", 10, 30)


def test_plugins_hear_of_an_alert_once_and_a_broken_one_is_isolated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pm = manager(tmp_path)
    pager = Pager()
    pm.register(Broken(), name="broken")
    pm.register(pager, name="pager")
    turn_flaky(pm)
    storage = pm.feedback_plugin.storage
    with caplog.at_level(logging.ERROR):
        storage.check_alerts()
    pm.close()
    assert [(alert.worker_id, alert.kind, alert.measure) for alert in pager.alerts] == [
        ("flaky", "degraded", "success")
    ]
    assert "the pager is down" in caplog.text


def test_in_background_mode_the_alert_comes_from_the_detection_thread(tmp_path: Path) -> None:
    pm = manager(tmp_path, write_mode="background", poll_s=0.05)
    pager = Pager()
    pm.register(pager, name="pager")
    turn_flaky(pm)
    assert pm.feedback_plugin.flush(timeout=30)
    deadline = time.monotonic() + 30
    while not pager.alerts and time.monotonic() < deadline:  # no check_alerts() here
        time.sleep(0.05)
    pm.close()
    assert [(alert.worker_id, alert.kind) for alert in pager.alerts] == [("flaky", "degraded")]


def test_alerts_can_be_turned_off(tmp_path: Path) -> None:
    pm = manager(tmp_path, enabled=False)
    pager = Pager()
    pm.register(pager, name="pager")
    turn_flaky(pm)
    storage = pm.feedback_plugin.storage
    assert storage.alert_settings is None and storage.check_alerts() == []
    pm.close()
    assert pager.alerts == []


def test_deprioritise_ranks_a_worker_with_an_open_alert_last(tmp_path: Path) -> None:
    pm = manager(tmp_path, deprioritise=True)
    for _ in range(10):
        fire_outcomes(pm, "flaky", 19, 1)
        fire_outcomes(pm, "solid", 18, 2)
    fire_outcomes(pm, "flaky", 12, 8)  # still the better record overall, but falling
    pm.feedback_plugin.storage.check_alerts()
    assert pm.feedback_plugin.storage.alerted_workers("build") == {"flaky"}
    for _ in range(20):
        assert ask(pm, ["flaky", "solid"]) == ["solid", "flaky"]
    pm.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "false_alarm_every = 1",
            "false_alarm_every: must be a whole number of outcomes, 10 or more",
        ),
        ("min_outcomes = -1", "min_outcomes: must be a whole number, 0 or more"),
        ("poll_s = 0", "poll: must be a number above 0"),
        ('task_types = "build"', "must be a list of names"),
        ("enabled = 2", "enabled"),
    ],
)
def test_bad_alert_settings_are_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "orchestrator-feedback.toml"
    path.write_text(f"[alerts]\n{text}\n")
    with pytest.raises(FeedbackValidationError, match=message):
        load_config(path)
    result = CliRunner().invoke(cli, ["--config", str(path), "stats"])
    assert result.exit_code != 0 and "Traceback" not in result.output
