"""The typed host API (``pm.events``): each orchestrator event with its hookspec's
arguments, checked by mypy and at run time."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackConfig, FeedbackEntry, get_plugin_manager, hookspecs
from orchestrator_feedback.events import ORCHESTRATOR_EVENTS
from orchestrator_feedback.host_events import HostEvents
from orchestrator_feedback.manager import FeedbackPluginManager


@pytest.fixture
def pm() -> FeedbackPluginManager:
    manager = get_plugin_manager(FeedbackConfig(database=":memory:"), load_entrypoints=False)
    yield manager
    manager.close()


def test_a_misspelled_argument_is_refused_before_any_plugin_runs(pm: FeedbackPluginManager) -> None:
    call = {
        "task_id": "t1",
        "worker_id": "w1",
        "success": True,
        "execution_time": 2.0,
        "output_quality": None,
        "metadata": {},
        "qualty": "high",  # meant: output_quality
    }
    with pytest.raises(TypeError) as refused:
        pm.events.task_completed(**call)  # type: ignore[arg-type]
    message = str(refused.value)
    assert message.startswith("task_completed(): no argument 'qualty' (it takes task_id, ")
    assert "output_quality" in message
    assert pm.feedback_plugin is not None and pm.feedback_plugin.storage.count() == 0
    # pm.hook itself works as pluggy's does: the misspelled argument is dropped unseen.
    pm.hook.task_completed(**call)
    [stored] = pm.feedback_plugin.storage.get_all()
    assert "qualty" not in stored.metadata and stored.metadata["output_quality"] is None


def test_a_missing_argument_is_refused(pm: FeedbackPluginManager) -> None:
    with pytest.raises(TypeError, match=r"worker_allocated\(\): missing a required argument"):
        pm.events.worker_allocated(task_id="t", worker_id="w", metadata={})  # type: ignore[call-arg]


def test_a_call_that_fits_fires_the_hook_and_returns_its_results(pm: FeedbackPluginManager) -> None:
    results = pm.events.task_failed("t2", "w1", "TimeoutError", "took too long", None, {"a": 1})
    [entry] = [r for r in results if isinstance(r, FeedbackEntry)]
    assert (entry.task_id, entry.metadata["error_type"], entry.metadata["a"]) == (
        "t2",
        "TimeoutError",
        1,
    )
    assert pm.feedback_plugin is not None
    assert pm.feedback_plugin.storage.get(entry.id) == entry


@pytest.mark.parametrize("hook", sorted(ORCHESTRATOR_EVENTS))
def test_every_orchestrator_event_has_its_hookspecs_signature(hook: str) -> None:
    assert inspect.signature(getattr(HostEvents, hook)) == inspect.signature(
        getattr(hookspecs, hook)
    )
    assert getattr(HostEvents, hook).__doc__ == getattr(hookspecs, hook).__doc__


@pytest.mark.slow
def test_mypy_rejects_the_wrong_calls_and_accepts_the_right_ones() -> None:
    module = Path(__file__).parents[1] / "typing_checks" / "host_calls.py"
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(module)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    wrong = {
        number
        for number, line in enumerate(module.read_text().splitlines(), start=1)
        if "# wrong" in line
    }
    flagged = {
        int(match.group(1)) for match in re.finditer(r"host_calls\.py:(\d+): error", checked.stdout)
    }
    # mypy names the line of the offending argument, inside the call that starts at a mark.
    calls = sorted(wrong)
    owners = {max(n for n in calls if n <= line) for line in flagged}
    assert owners == wrong, checked.stdout
    assert 'Unexpected keyword argument "exec_time"' in checked.stdout
    assert 'Argument "success" has incompatible type "str"; expected "bool"' in checked.stdout
