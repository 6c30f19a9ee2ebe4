"""The typed host API: ``pm.events.task_completed(...)`` fires ``pm.hook.task_completed``
after checking the call against the hook's own declaration (``hookspecs``), as tox 4 puts a
typed facade over ``pm.hook``.

Each method's parameters are the hookspec's, taken from it by ``ParamSpec`` (they are
written once, in ``hookspecs.py``): mypy checks a host's calls (an unknown argument, a
wrong type, a missing one), and at run time a call that does not fit the hookspec raises
``TypeError`` naming the hook and what it takes, before any plugin runs; ``pm.hook.X(...)``,
which pluggy lets pass with a misspelled argument silently ignored, keeps working as it is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from orchestrator_feedback import hookspecs

if TYPE_CHECKING:
    import pluggy

__all__ = ["HostEvents"]

_Arguments = ParamSpec("_Arguments")


def _fires(
    spec: Callable[_Arguments, Any],
) -> Callable[Concatenate[HostEvents, _Arguments], list[Any]]:
    """A method that fires the hook ``spec`` declares, with ``spec``'s parameters."""
    name = spec.__name__
    signature = inspect.signature(spec)
    takes = ", ".join(signature.parameters)

    @functools.wraps(spec)
    def fire(self: HostEvents, /, *args: _Arguments.args, **kwargs: _Arguments.kwargs) -> list[Any]:
        unknown = [key for key in kwargs if key not in signature.parameters]
        if unknown:
            raise TypeError(f"{name}(): no argument {unknown[0]!r} (it takes {takes})")
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as problem:
            raise TypeError(f"{name}(): {problem} (it takes {takes})") from None
        hook: Callable[..., list[Any]] = getattr(self.hook, name)
        return hook(**bound.arguments)

    return fire


class HostEvents:
    """The orchestrator events a host fires, typed: each method takes the arguments of the
    hookspec of the same name (keyword or positional) and returns what ``pm.hook`` returns
    (the built-in plugin's entry among the implementations' results)."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.hook = manager.hook
        """The manager's ``pm.hook``, which each method calls."""

    task_completed = _fires(hookspecs.task_completed)
    worker_allocated = _fires(hookspecs.worker_allocated)
    task_failed = _fires(hookspecs.task_failed)
    worker_performance_measured = _fires(hookspecs.worker_performance_measured)
    task_decomposed = _fires(hookspecs.task_decomposed)
    task_reviewed = _fires(hookspecs.task_reviewed)
