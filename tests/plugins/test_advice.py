"""``allocation_advice``: the built-in plugin answers from the scores and ``[advice]``; a
plugin of yours answers first; a broken one never reaches the host."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import FeedbackPluginManager, get_plugin_manager, hookimpl
from orchestrator_feedback.config import config_from_mapping


def manager(tmp_path: Path, **advice: Any) -> FeedbackPluginManager:
    settings: dict[str, Any] = {"database": str(tmp_path / "f.db")}
    if advice:
        settings["advice"] = advice
    return get_plugin_manager(config_from_mapping(settings), load_entrypoints=False)


def fire_outcomes(pm: FeedbackPluginManager, worker: str, successes: int, failures: int) -> None:
    for n in range(successes):
        pm.hook.task_completed(
            task_id=f"{worker}-ok-{n}",
            worker_id=worker,
            success=True,
            execution_time=1.0,
            output_quality=None,
            metadata={"task_type": "build"},
        )
    for n in range(failures):
        pm.hook.task_failed(
            task_id=f"{worker}-bad-{n}",
            worker_id=worker,
            error_type="OSError",
            error_message="disk",
            stack_trace=None,
            metadata={"task_type": "build"},
        )


def ask(pm: FeedbackPluginManager, candidates: Sequence[str], task_id: str = "t") -> Any:
    return pm.hook.allocation_advice(
        task_id=task_id, task_type="build", candidates=list(candidates), metadata={}
    )


@pytest.mark.parametrize("write_mode", ["sync", "background"])
def test_the_builtin_plugin_ranks_by_the_configured_policy(tmp_path: Path, write_mode: str) -> None:
    settings = {
        "database": str(tmp_path / "f.db"),
        "write_mode": write_mode,
        "advice": {"policy": "lower_bound", "half_life": "7d", "confidence": 0.9},
    }
    pm = get_plugin_manager(config_from_mapping(settings), load_entrypoints=False)
    fire_outcomes(pm, "flaky", 5, 15)
    fire_outcomes(pm, "solid", 20, 0)
    pm.flush()
    assert ask(pm, ["flaky", "unseen", "solid"]) == ["solid", "flaky", "unseen"]
    pm.close()


def test_a_plugin_answers_before_the_builtin_one(tmp_path: Path) -> None:
    pm = manager(tmp_path, policy="lower_bound")
    fire_outcomes(pm, "solid", 20, 0)

    class PinAndForbid:
        @hookimpl
        def allocation_advice(self, task_id: str, candidates: Sequence[str]) -> list[str] | None:
            if task_id == "pinned":
                return ["flaky"]
            if "banned" in candidates:
                return [c for c in candidates if c != "banned"]
            return None

    pm.register(PinAndForbid(), name="pin")
    assert ask(pm, ["solid", "flaky"], task_id="pinned") == ["flaky"]
    assert ask(pm, ["banned", "solid"]) == ["solid"]
    assert ask(pm, ["flaky", "solid"]) == ["solid", "flaky"]  # the built-in one answered
    pm.close()


def test_a_broken_advice_plugin_never_reaches_the_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pm = manager(tmp_path, policy="lower_bound")
    fire_outcomes(pm, "solid", 5, 0)

    class Broken:
        @hookimpl
        def allocation_advice(self) -> list[str]:
            raise RuntimeError("advice plugin bug")

    pm.register(Broken(), name="broken")
    with caplog.at_level(logging.ERROR):
        assert ask(pm, ["other", "solid"]) == ["solid", "other"]
    assert "advice plugin bug" in caplog.text
    pm.close()


def test_bad_candidates_get_no_advice_and_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pm = manager(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert (
            pm.hook.allocation_advice(task_id="t9", task_type=None, candidates=[], metadata={})
            is None
        )
    assert "t9" in caplog.text and "candidates" in caplog.text
    pm.close()


@pytest.mark.parametrize(
    ("advice", "field"),
    [
        ({"policy": "greedy"}, "advice.policy"),
        ({"half_life": "a week"}, "advice.half_life"),
        ({"half_life": "0d"}, "advice.half_life"),
        ({"confidence": 1}, "advice.confidence"),
    ],
)
def test_a_bad_advice_section_is_one_clear_line(advice: dict[str, Any], field: str) -> None:
    with pytest.raises(Exception, match=rf"^orchestrator-feedback\.toml: {field}: "):
        config_from_mapping({"advice": advice}, location="orchestrator-feedback.toml")
