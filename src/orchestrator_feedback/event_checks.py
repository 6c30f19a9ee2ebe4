"""Which argument of an orchestrator event is of the wrong type, read from the hookspecs'
own annotations, so that a bad event is rejected with one line naming that argument (not
counted as a crash of the built-in plugin)."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from orchestrator_feedback import hookspecs
from orchestrator_feedback.errors import FeedbackValidationError

__all__ = ["check_event_arguments"]


@cache
def _parameters(hook_name: str) -> list[tuple[str, Any]]:
    spec = getattr(hookspecs, hook_name)
    hints = typing.get_type_hints(spec)
    return [(name, hints[name]) for name in inspect.signature(spec).parameters]


def _matches(value: object, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is Any:
        return True
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected in (str, bool):
        return isinstance(value, expected)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return isinstance(value, Mapping)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence):
        (item,) = typing.get_args(expected) or (Any,)
        return isinstance(value, list | tuple) and all(_matches(v, item) for v in value)
    return True  # a type this check does not know: the entry builder judges


_WORDS = {
    bool: "True or False",
    str: "a string",
    int: "a whole number",
    float: "a number",
    type(None): "None",
}


def _spelled(expected: Any) -> str:
    """A type as a person says it: ``float | None`` is "a number or None"."""
    if expected in _WORDS:
        return _WORDS[expected]
    options = typing.get_args(expected)
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_spelled(option) for option in options)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return "a mapping (a dict)"
    if isinstance(origin, type) and issubclass(origin, Sequence):
        return f"a list of {_spelled(options[0])}s".replace("a list of a ", "a list of ")
    return getattr(expected, "__name__", str(expected))


def check_event_arguments(hook_name: str, arguments: Mapping[str, object]) -> None:
    """Raise ``FeedbackValidationError`` naming the first of ``arguments`` (by name, in the
    hookspec's order) whose type the hookspec does not allow."""
    for name, expected in _parameters(hook_name):
        if name in arguments and not _matches(arguments[name], expected):
            raise FeedbackValidationError(name, arguments[name], f"must be {_spelled(expected)}")
