"""The one table of orchestrator events holds every place that knows an event: the
hookspecs, the builders, the built-in plugin's implementations, the collector's coroutines
and the adapters' hook calls. Adding an argument somewhere and not elsewhere fails here."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from orchestrator_feedback import FeedbackCollector, hookspecs
from orchestrator_feedback.events import ORCHESTRATOR_EVENTS
from orchestrator_feedback.plugin import FeedbackPlugin

SOURCE = Path(__file__).parents[1] / "src" / "orchestrator_feedback"
ORCHESTRATOR_HOOKS = [
    name
    for name, spec in vars(hookspecs).items()
    if callable(spec)
    and hasattr(spec, "orchestrator_feedback_spec")
    and "task_id" in inspect.signature(spec).parameters
    and name not in ("feedback_task_exists", "feedback_request", "allocation_advice")
]


def _arguments(function: object) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]  # type: ignore[arg-type]


def test_every_orchestrator_hookspec_is_in_the_table() -> None:
    assert sorted(ORCHESTRATOR_HOOKS) == sorted(ORCHESTRATOR_EVENTS)


@pytest.mark.parametrize("hook", sorted(ORCHESTRATOR_EVENTS))
def test_builder_and_plugin_take_the_hookspecs_arguments(hook: str) -> None:
    spec = getattr(hookspecs, hook)
    event = ORCHESTRATOR_EVENTS[hook]
    assert _arguments(event.build) == _arguments(spec)
    assert _arguments(getattr(FeedbackPlugin, hook)) == _arguments(spec)
    spec_types = typing.get_type_hints(spec)
    plugin_types = typing.get_type_hints(getattr(FeedbackPlugin, hook))
    for name in _arguments(spec):
        assert plugin_types[name] == spec_types[name], (hook, name)


@pytest.mark.parametrize(
    "hook", sorted(h for h, e in ORCHESTRATOR_EVENTS.items() if e.collection_point)
)
def test_the_collectors_coroutine_passes_every_argument(hook: str) -> None:
    """The coroutine of the event's collection point takes every argument of the hook (in
    its own order: the seed's), and passes each on under the hook's name."""
    [coroutine] = [
        function
        for name, function in vars(FeedbackCollector).items()
        if name.startswith("collect_") and f'"{hook}"' in inspect.getsource(function)
    ]
    assert set(_arguments(getattr(hookspecs, hook))) <= set(_arguments(coroutine))
    call = next(
        node
        for node in ast.walk(ast.parse(inspect.getsource(coroutine).strip()))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_collect"
    )
    assert {keyword.arg for keyword in call.keywords} == set(_arguments(getattr(hookspecs, hook)))


@pytest.mark.parametrize("adapter", ["celery.py", "dask_events.py"])
def test_the_adapters_fire_table_events_with_their_arguments(adapter: str) -> None:
    """Every hook call an adapter makes (``fire("hook", ...)``, or a ``("hook", {...})``
    pair) names a table event and passes exactly the hook's arguments."""
    tree = ast.parse((SOURCE / "adapters" / adapter).read_text())
    calls: list[tuple[str, set[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "fire":
            hook = node.args[0]
            assert isinstance(hook, ast.Constant)
            calls.append((hook.value, {keyword.arg for keyword in node.keywords if keyword.arg}))
        elif (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and isinstance(node.elts[0], ast.Constant)
            and node.elts[0].value in ORCHESTRATOR_EVENTS
            and isinstance(node.elts[1], ast.Dict)
        ):
            keys = {key.value for key in node.elts[1].keys if isinstance(key, ast.Constant)}
            calls.append((node.elts[0].value, keys))
    assert calls, "no hook call found: the test no longer reads this adapter"
    for hook, arguments in calls:
        assert hook in ORCHESTRATOR_EVENTS
        assert arguments == set(_arguments(getattr(hookspecs, hook))), (adapter, hook)
